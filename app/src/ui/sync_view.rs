//! [`SyncView`]: a view whose hydration is always synchronous, and [`Erase`], the UI's only way
//! to type-erase a view.
//!
//! Why it exists: Leptos can hydrate every view type either synchronously or asynchronously (the
//! latter for lazily loaded routes, which billops does not use). Type erasure (`into_any`) keeps
//! a pointer to the asynchronous path, so by default the bundle holds a second, asynchronous
//! copy of the hydration code of every erased view. Wrapped in `SyncView`, a view hydrates the
//! same way on both paths and the copy is never compiled (when whole pages were hydrated, this
//! took a fifth off the release WASM; see the README's figures).

use leptos::prelude::*;
use leptos::tachys::html::attribute::{any_attribute::AnyAttribute, Attribute};
use leptos::tachys::hydration::Cursor;
use leptos::tachys::ssr::StreamBuilder;
use leptos::tachys::view::add_attr::AddAnyAttr;
use leptos::tachys::view::{Position, PositionState, Render, RenderHtml};

/// A view that hydrates synchronously even when asked to hydrate asynchronously.
#[derive(Debug, Clone)]
pub struct SyncView<T>(pub T);

/// Type erasure without the asynchronous hydration: `.erase()` where Leptos has `.into_any()`.
pub trait Erase: IntoView + 'static {
    /// This view as an [`AnyView`] that hydrates synchronously.
    fn erase(self) -> AnyView {
        SyncView(self.into_view()).into_any()
    }
}

impl<T: IntoView + 'static> Erase for T {}

impl<T: Render> Render for SyncView<T> {
    type State = T::State;

    fn build(self) -> Self::State {
        self.0.build()
    }

    fn rebuild(self, state: &mut Self::State) {
        self.0.rebuild(state)
    }
}

impl<T: AddAnyAttr> AddAnyAttr for SyncView<T> {
    type Output<SomeNewAttr: Attribute> = SyncView<T::Output<SomeNewAttr>>;

    fn add_any_attr<NewAttr: Attribute>(self, attr: NewAttr) -> Self::Output<NewAttr>
    where
        Self::Output<NewAttr>: RenderHtml,
    {
        SyncView(self.0.add_any_attr(attr))
    }
}

impl<T: RenderHtml> RenderHtml for SyncView<T> {
    type AsyncOutput = SyncView<T::AsyncOutput>;
    type Owned = SyncView<T::Owned>;

    const MIN_LENGTH: usize = T::MIN_LENGTH;
    const EXISTS: bool = T::EXISTS;

    fn dry_resolve(&mut self) {
        self.0.dry_resolve()
    }

    async fn resolve(self) -> Self::AsyncOutput {
        SyncView(self.0.resolve().await)
    }

    fn html_len(&self) -> usize {
        self.0.html_len()
    }

    fn to_html_with_buf(
        self,
        buf: &mut String,
        position: &mut Position,
        escape: bool,
        mark_branches: bool,
        extra_attrs: Vec<AnyAttribute>,
    ) {
        self.0
            .to_html_with_buf(buf, position, escape, mark_branches, extra_attrs)
    }

    fn to_html_async_with_buf<const OUT_OF_ORDER: bool>(
        self,
        buf: &mut StreamBuilder,
        position: &mut Position,
        escape: bool,
        mark_branches: bool,
        extra_attrs: Vec<AnyAttribute>,
    ) where
        Self: Sized,
    {
        self.0.to_html_async_with_buf::<OUT_OF_ORDER>(
            buf,
            position,
            escape,
            mark_branches,
            extra_attrs,
        )
    }

    fn hydrate<const FROM_SERVER: bool>(
        self,
        cursor: &Cursor,
        position: &PositionState,
    ) -> Self::State {
        self.0.hydrate::<FROM_SERVER>(cursor, position)
    }

    // `hydrate_async` is left to the trait's default: synchronous hydration.

    fn into_owned(self) -> Self::Owned {
        SyncView(self.0.into_owned())
    }
}
