//! Who may come in: users and their password hashes, sessions (and the `su` sessions opened
//! from them), one-time login keys, and each user's saved list filters.

use async_trait::async_trait;
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Row, Type};

use super::dialect::{Affected, Dialect, SqlStore};
use super::sql::{parse_with, SESSION_SELECT};
use super::{JournalEntry, SessionRecord, StoreResult, UserRecord};
use crate::types::{Lang, Level, Timestamp};

/// Users, sessions, login keys and saved filters.
#[async_trait]
pub trait Sessions: Send + Sync {
    async fn insert_user(
        &self,
        user: &UserRecord,
        now: Timestamp,
        journal: &JournalEntry,
    ) -> StoreResult<i64>;
    async fn set_password(
        &self,
        user_id: i64,
        password_hash: &str,
        journal: &JournalEntry,
    ) -> StoreResult<bool>;
    async fn find_user(&self, name: &str) -> StoreResult<Option<UserRecord>>;
    async fn get_user(&self, id: i64) -> StoreResult<Option<UserRecord>>;
    async fn insert_session(&self, session: &SessionRecord) -> StoreResult<()>;
    /// Finds a session seen at or after `idle_cutoff` and marks it seen `now`.
    async fn touch_session(
        &self,
        id_hash: &str,
        now: Timestamp,
        idle_cutoff: Timestamp,
    ) -> StoreResult<Option<SessionRecord>>;
    async fn get_session(&self, id_hash: &str) -> StoreResult<Option<SessionRecord>>;
    /// Remembers user `user_id`'s language for the next sessions.
    async fn set_user_lang(&self, user_id: i64, lang: crate::types::Lang) -> StoreResult<()>;
    /// Changes the language of a session (and of the `su` sessions opened from it).
    async fn set_session_lang(&self, id_hash: &str, lang: crate::types::Lang) -> StoreResult<bool>;
    /// Ends a session and the `su` sessions opened from it.
    async fn delete_session(&self, id_hash: &str) -> StoreResult<bool>;
    /// Ends the sessions idle since before `idle_cutoff`; returns how many.
    async fn delete_idle_sessions(&self, idle_cutoff: Timestamp) -> StoreResult<u64>;
    /// Registers a one-time login key for a user (replacing none: keys are unique by hash).
    async fn insert_login_key(
        &self,
        key_hash: &str,
        user_id: i64,
        expires: Timestamp,
        journal: &JournalEntry,
    ) -> StoreResult<()>;
    /// Uses up a login key of user `name` that has not expired: returns the user, and the key is gone.
    async fn take_login_key(
        &self,
        name: &str,
        key_hash: &str,
        now: Timestamp,
    ) -> StoreResult<Option<UserRecord>>;
    async fn load_filter(&self, user_id: i64, list: &str) -> StoreResult<Option<String>>;
    async fn save_filter(
        &self,
        user_id: i64,
        list: &str,
        filter: &str,
        now: Timestamp,
    ) -> StoreResult<()>;
}

impl<D> SqlStore<D>
where
    D: Dialect,
    for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
    for<'q> D::Arguments<'q>: IntoArguments<'q, D>,
    for<'q> i64: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'q> bool: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'q> String: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'q> &'q str: Encode<'q, D> + Type<D>,
    for<'q> Option<i64>: Encode<'q, D>,
    for<'q> Option<String>: Encode<'q, D>,
    for<'q> Option<&'q str>: Encode<'q, D>,
    for<'a> &'a str: ColumnIndex<D::Row>,
    usize: ColumnIndex<D::Row>,
{
    pub(super) fn session_record(row: &D::Row) -> StoreResult<SessionRecord> {
        Ok(SessionRecord {
            id_hash: row.try_get("id_hash")?,
            user_id: row.try_get("user_id")?,
            user_name: row.try_get("user_name")?,
            level: parse_with("level", row.try_get("level")?, Level::parse)?,
            client_id: row.try_get("client_id")?,
            parent_hash: row.try_get("parent_hash")?,
            lang: parse_with("lang", row.try_get("lang")?, Lang::parse)?,
            created: Timestamp(row.try_get("created_at")?),
            last_seen: Timestamp(row.try_get("last_seen_at")?),
            expires: Timestamp(row.try_get("expires_at")?),
        })
    }

    pub(super) fn user_record(row: &D::Row) -> StoreResult<UserRecord> {
        Ok(UserRecord {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            password_hash: row.try_get("password_hash")?,
            level: parse_with("level", row.try_get("level")?, Level::parse)?,
            client_id: row.try_get("client_id")?,
            lang: row
                .try_get::<Option<String>, _>("lang")?
                .map(|raw| parse_with("lang", raw, Lang::parse))
                .transpose()?,
        })
    }
}

#[async_trait]
impl<D> Sessions for SqlStore<D>
where
    D: Dialect,
    for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
    for<'q> D::Arguments<'q>: IntoArguments<'q, D>,
    for<'q> i64: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'q> bool: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'q> String: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'q> &'q str: Encode<'q, D> + Type<D>,
    for<'q> Option<i64>: Encode<'q, D>,
    for<'q> Option<String>: Encode<'q, D>,
    for<'q> Option<&'q str>: Encode<'q, D>,
    for<'a> &'a str: ColumnIndex<D::Row>,
    usize: ColumnIndex<D::Row>,
{
    async fn insert_user(
        &self,
        user: &UserRecord,
        now: Timestamp,
        entry: &JournalEntry,
    ) -> StoreResult<i64> {
        let mut tx = self.pool.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO app_user (name, password_hash, level, client_id, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(&user.name)
        .bind(&user.password_hash)
        .bind(user.level.raw())
        .bind(user.client_id)
        .bind(now.0)
        .fetch_one(&mut *tx)
        .await?;
        Self::journal(&mut *tx, &Self::with_id(entry, id)).await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn set_password(
        &self,
        user_id: i64,
        password_hash: &str,
        entry: &JournalEntry,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query("UPDATE app_user SET password_hash = $1 WHERE id = $2")
            .bind(password_hash)
            .bind(user_id)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        if done {
            Self::journal(&mut *tx, entry).await?;
        }
        tx.commit().await?;
        Ok(done)
    }

    async fn find_user(&self, name: &str) -> StoreResult<Option<UserRecord>> {
        sqlx::query(
            "SELECT id, name, password_hash, level, client_id, lang FROM app_user WHERE name = $1",
        )
        .bind(name)
        .fetch_optional(&self.pool)
        .await?
        .map(|row| Self::user_record(&row))
        .transpose()
    }

    async fn get_user(&self, id: i64) -> StoreResult<Option<UserRecord>> {
        sqlx::query(
            "SELECT id, name, password_hash, level, client_id, lang FROM app_user WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .map(|row| Self::user_record(&row))
        .transpose()
    }

    async fn insert_session(&self, s: &SessionRecord) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO session (id_hash, user_id, level, client_id, parent_hash, lang, created_at, \
             last_seen_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&s.id_hash)
        .bind(s.user_id)
        .bind(s.level.raw())
        .bind(s.client_id)
        .bind(&s.parent_hash)
        .bind(s.lang.code())
        .bind(s.created.0)
        .bind(s.last_seen.0)
        .bind(s.expires.0)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn touch_session(
        &self,
        id_hash: &str,
        now: Timestamp,
        idle_cutoff: Timestamp,
    ) -> StoreResult<Option<SessionRecord>> {
        let touched = sqlx::query(
            "UPDATE session SET last_seen_at = $1 WHERE id_hash = $2 AND last_seen_at >= $3",
        )
        .bind(now.0)
        .bind(id_hash)
        .bind(idle_cutoff.0)
        .execute(&self.pool)
        .await?
        .rows_affected()
            == 1;
        if !touched {
            return Ok(None);
        }
        self.get_session(id_hash).await
    }

    async fn get_session(&self, id_hash: &str) -> StoreResult<Option<SessionRecord>> {
        sqlx::query(&format!("{SESSION_SELECT} WHERE s.id_hash = $1"))
            .bind(id_hash)
            .fetch_optional(&self.pool)
            .await?
            .map(|row| Self::session_record(&row))
            .transpose()
    }

    async fn set_user_lang(&self, user_id: i64, lang: Lang) -> StoreResult<()> {
        sqlx::query("UPDATE app_user SET lang = $1 WHERE id = $2")
            .bind(lang.code())
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn set_session_lang(&self, id_hash: &str, lang: Lang) -> StoreResult<bool> {
        Ok(
            sqlx::query("UPDATE session SET lang = $1 WHERE id_hash = $2 OR parent_hash = $2")
                .bind(lang.code())
                .bind(id_hash)
                .execute(&self.pool)
                .await?
                .rows_affected()
                > 0,
        )
    }

    async fn delete_session(&self, id_hash: &str) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM session WHERE parent_hash = $1")
            .bind(id_hash)
            .execute(&mut *tx)
            .await?;
        let done = sqlx::query("DELETE FROM session WHERE id_hash = $1")
            .bind(id_hash)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        tx.commit().await?;
        Ok(done)
    }

    async fn delete_idle_sessions(&self, idle_cutoff: Timestamp) -> StoreResult<u64> {
        let mut tx = self.pool.begin().await?;
        // Children first: an expired admin session takes its `su` sessions with it.
        let children = sqlx::query(
            "DELETE FROM session WHERE parent_hash IN \
             (SELECT id_hash FROM session WHERE last_seen_at < $1)",
        )
        .bind(idle_cutoff.0)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let parents = sqlx::query("DELETE FROM session WHERE last_seen_at < $1")
            .bind(idle_cutoff.0)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(children + parents)
    }

    async fn insert_login_key(
        &self,
        key_hash: &str,
        user_id: i64,
        expires: Timestamp,
        entry: &JournalEntry,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM login_key WHERE expires_at < $1")
            .bind(entry.at.0)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO login_key (key_hash, user_id, expires_at) VALUES ($1, $2, $3)")
            .bind(key_hash)
            .bind(user_id)
            .bind(expires.0)
            .execute(&mut *tx)
            .await?;
        Self::journal(&mut *tx, entry).await?;
        tx.commit().await
    }

    async fn take_login_key(
        &self,
        name: &str,
        key_hash: &str,
        now: Timestamp,
    ) -> StoreResult<Option<UserRecord>> {
        let mut tx = self.pool.begin().await?;
        let user_id: Option<i64> = sqlx::query_scalar(
            "DELETE FROM login_key WHERE key_hash = $1 AND expires_at >= $2 \
             AND user_id = (SELECT id FROM app_user WHERE name = $3) RETURNING user_id",
        )
        .bind(key_hash)
        .bind(now.0)
        .bind(name)
        .fetch_optional(&mut *tx)
        .await?;
        let user = match user_id {
            Some(id) => sqlx::query("SELECT id, name, password_hash, level, client_id, lang FROM app_user WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?
                .map(|row| Self::user_record(&row))
                .transpose()?,
            None => None,
        };
        tx.commit().await?;
        Ok(user)
    }

    async fn load_filter(&self, user_id: i64, list: &str) -> StoreResult<Option<String>> {
        sqlx::query_scalar("SELECT filter FROM saved_filter WHERE user_id = $1 AND list = $2")
            .bind(user_id)
            .bind(list)
            .fetch_optional(&self.pool)
            .await
    }

    async fn save_filter(
        &self,
        user_id: i64,
        list: &str,
        filter: &str,
        now: Timestamp,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO saved_filter (user_id, list, filter, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (user_id, list) DO UPDATE SET filter = excluded.filter, \
             updated_at = excluded.updated_at",
        )
        .bind(user_id)
        .bind(list)
        .bind(filter)
        .bind(now.0)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
