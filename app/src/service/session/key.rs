//! Pass-through login keys (`session.newkey`): registered by an admin for a user, good for one
//! login within a few minutes, stored only as SHA-256.

use sha2::{Digest, Sha256};

use super::{AuthError, SessionToken};
use crate::service::{Actor, Services};
use crate::types::{FieldError, FieldReason, Lang, SessionInfo, Timestamp};

/// Shortest key `session.newkey` accepts (BILLmanager: at least 16 characters).
pub const MIN_KEY_CHARS: usize = 16;
/// How long a pass-through login key stays usable.
pub const LOGIN_KEY_MILLIS: i64 = 5 * 60 * 1000;

impl Services {
    /// Logs in with a pass-through key registered by `session.newkey` (once, before it expires).
    pub async fn login_with_key(
        &self,
        name: &str,
        key: &str,
        lang: Lang,
        addr: Option<&str>,
    ) -> Result<(SessionToken, SessionInfo), AuthError> {
        let attempt = self
            .throttle
            .admit(name, addr, || self.now())
            .await
            .ok_or(AuthError::Throttled)?;
        let hash = hex::encode(Sha256::digest(key.as_bytes()));
        let taken = self
            .store
            .take_login_key(name.trim(), &hash, self.now())
            .await;
        let user = match taken {
            Ok(Some(user)) => {
                self.throttle.succeeded(attempt, name.trim());
                user
            }
            Ok(None) => {
                self.throttle.failed(attempt);
                return Err(AuthError::BadCredentials);
            }
            Err(error) => {
                self.throttle.failed(attempt);
                return Err(error.into());
            }
        };
        let opened = self.open_session(&user, lang, false, None).await?;
        self.journal_login(&user, "login key", addr).await;
        Ok(opened)
    }

    /// Registers a one-time login key for user `name` (`session.newkey`): admins only; the key
    /// must have at least [`MIN_KEY_CHARS`] characters and works for [`LOGIN_KEY_MILLIS`].
    pub async fn new_login_key(
        &self,
        actor: &Actor,
        name: &str,
        key: &str,
    ) -> Result<(), AuthError> {
        actor.require_admin()?;
        if key.chars().count() < MIN_KEY_CHARS {
            return Err(AuthError::Invalid(vec![FieldError::new(
                "key",
                "",
                FieldReason::TooShort(MIN_KEY_CHARS),
            )]));
        }
        let user = self
            .store
            .find_user(name.trim())
            .await?
            .ok_or_else(|| AuthError::NoUser(name.trim().into()))?;
        let entry = self.journal(
            actor,
            "session.newkey",
            "user",
            Some(user.id),
            String::new(),
        );
        let hash = hex::encode(Sha256::digest(key.as_bytes()));
        let expires = Timestamp(self.now().0 + LOGIN_KEY_MILLIS);
        self.store
            .insert_login_key(&hash, user.id, expires, &entry)
            .await?;
        Ok(())
    }
}
