//! Users, logins and sessions: password hashes (argon2), session ids (random, stored only as
//! SHA-256), the one-hour idle expiry, and `su` sessions linked to the admin session they
//! came from.
//!
//! This module holds the sessions themselves: their ids, their expiry, `su` and the way back,
//! and why a login or lookup failed. Passwords (hashing, checking, logging in by password) are
//! in `password`, adding users in `user`, pass-through login keys in `key`; throttling failed
//! logins is [`super::throttle`]'s.

mod key;
mod password;
mod user;

use rand::RngCore;
use sha2::{Digest, Sha256};

use super::{internal, Actor, Denied, Services};
use crate::store::{JournalEntry, SessionRecord, StoreError, UserRecord};
use crate::types::{AppError, FieldError, Lang, Level, SessionInfo, Timestamp};

pub use key::{LOGIN_KEY_MILLIS, MIN_KEY_CHARS};
pub use password::{MAX_NAME_CHARS, MIN_PASSWORD_CHARS};
pub use user::UserError;

/// A session ends after this long without a request (BILLmanager: one hour).
pub const SESSION_IDLE_MILLIS: i64 = 60 * 60 * 1000;

/// A session ends this long after it was opened, however busy (default of `--session-hours`).
pub const SESSION_LIFETIME_MILLIS: i64 = 12 * 60 * 60 * 1000;

/// An `su` session opened without an admin session to return to (through `authinfo`) ends this
/// long after it was opened: nothing else would end it.
pub const UNLINKED_SU_MILLIS: i64 = 15 * 60 * 1000;

/// A session's last use is written at most this often (the expiry is an hour; a minute of
/// slack in it spares a write on every request).
pub const TOUCH_EVERY_MILLIS: i64 = 60 * 1000;

pub use super::throttle::{LoginThrottle, THROTTLE_FAILURES, THROTTLE_WINDOW_MILLIS};

/// A session id as its holder has it: 64 hex characters. Shown once, to its holder only.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionToken(String);

impl SessionToken {
    /// Wraps an id received from a client (cookie, `auth=` parameter).
    pub fn from_client(id: &str) -> SessionToken {
        SessionToken(id.trim().to_owned())
    }

    fn generate() -> SessionToken {
        let mut bytes = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut bytes);
        SessionToken(hex::encode(bytes))
    }

    /// The id, for the holder's cookie or `<auth>` element; never for a log.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// What the store keeps: the SHA-256 of the id.
    pub fn hash(&self) -> String {
        hex::encode(Sha256::digest(self.0.as_bytes()))
    }
}

impl std::fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionToken(***)")
    }
}

/// Why a login or session lookup failed.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Unknown user or wrong password (which one is not said).
    #[error("bad credentials")]
    BadCredentials,
    /// No session with that id, or it expired.
    #[error("no such session, or it expired")]
    NoSession,
    /// Too many failed logins for this user or from this address; try later.
    #[error("too many failed logins")]
    Throttled,
    /// A field of the request was refused (such as a too short key).
    #[error("invalid field")]
    Invalid(Vec<FieldError>),
    /// No user with this name.
    #[error("no user {0}")]
    NoUser(String),
    /// The session was not opened by `su`, so there is nothing to return to.
    #[error("not an su session")]
    NotSu,
    #[error(transparent)]
    Denied(#[from] Denied),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<AuthError> for AppError {
    fn from(error: AuthError) -> AppError {
        match error {
            AuthError::BadCredentials | AuthError::NoSession => AppError::Auth,
            AuthError::Throttled => AppError::Throttled,
            AuthError::Invalid(fields) => AppError::Value { fields },
            AuthError::NoUser(name) => AppError::Missed {
                object: "elid".into(),
                value: name,
            },
            AuthError::NotSu | AuthError::Denied(_) => AppError::Access,
            AuthError::Store(e) => internal(&e),
        }
    }
}

impl Services {
    /// Opens a session as user `name` (`func=su&elid=NAME`), linked to the admin's session when
    /// there is one (with `authinfo` there is none, and nothing to return to).
    pub async fn su_to_user(&self, actor: &Actor, name: &str) -> Result<SessionToken, AuthError> {
        actor.require_admin()?;
        let user = self
            .store
            .find_user(name.trim())
            .await?
            .ok_or_else(|| AuthError::NoUser(name.trim().into()))?;
        let entry = self.journal(actor, "su", "user", Some(user.id), String::new());
        self.store.insert_journal(&entry).await?;
        let (token, _) = self
            .open_session(&user, actor.lang, true, actor.session_hash.clone())
            .await?;
        Ok(token)
    }

    /// Opens a session for `user` in the user's chosen language (else `lang`); an `su` session
    /// (`su`) is linked to the admin's session (`parent_hash`) when there is one.
    async fn open_session(
        &self,
        user: &UserRecord,
        lang: Lang,
        su: bool,
        parent_hash: Option<String>,
    ) -> Result<(SessionToken, SessionInfo), AuthError> {
        let now = self.now();
        let token = SessionToken::generate();
        let record = SessionRecord {
            id_hash: token.hash(),
            user_id: user.id,
            user_name: user.name.clone(),
            level: user.level,
            client_id: user.client_id,
            expires: self.session_end(now, su && parent_hash.is_none()),
            parent_hash,
            lang: user.lang.unwrap_or(lang),
            created: now,
            last_seen: now,
        };
        self.store.insert_session(&record).await?;
        Ok((token, session_info(&record)))
    }

    /// Journals a login of `user` (`how`: by password or key) from `addr`. The session exists
    /// already (and a login key is spent): a row that cannot be written is logged, and the
    /// login stands.
    async fn journal_login(&self, user: &UserRecord, how: &str, addr: Option<&str>) {
        let detail = match addr {
            Some(addr) => format!("{how}, from {addr}"),
            None => how.to_owned(),
        };
        let entry = JournalEntry {
            at: self.now(),
            user_id: Some(user.id),
            user_name: user.name.clone(),
            action: "session.login".into(),
            object: "user".into(),
            object_id: Some(user.id),
            detail,
        };
        if let Err(error) = self.store.insert_journal(&entry).await {
            tracing::warn!(%error, user = %user.name, "journaling a login failed");
        }
    }

    /// When a session opened `now` ends: after the configured lifetime; an `su` session that has
    /// no admin session to end with (`unlinked_su`) after [`UNLINKED_SU_MILLIS`] at most.
    fn session_end(&self, now: Timestamp, unlinked_su: bool) -> Timestamp {
        let lifetime = if unlinked_su {
            self.session_lifetime.min(UNLINKED_SU_MILLIS)
        } else {
            self.session_lifetime
        };
        Timestamp(now.0 + lifetime)
    }

    /// Finds the session a client presents and marks it used; expired sessions are refused.
    pub async fn authenticate(&self, token: &SessionToken) -> Result<Actor, AuthError> {
        if token.expose().is_empty() {
            return Err(AuthError::NoSession);
        }
        let record = self.live_session(&token.hash()).await?;
        // An `su` session lives only as long as the admin session it came from.
        if let Some(parent) = &record.parent_hash {
            self.live_session(parent).await?;
        }
        Ok(actor_of(&record))
    }

    /// A session that has not been idle past the expiry, marked as used. The mark is written
    /// only when the last one is older than [`TOUCH_EVERY_MILLIS`], so that a busy session costs
    /// a read per request, not a write.
    async fn live_session(&self, id_hash: &str) -> Result<SessionRecord, AuthError> {
        let now = self.now();
        let cutoff = Timestamp(now.0 - SESSION_IDLE_MILLIS);
        let record = self
            .store
            .get_session(id_hash)
            .await?
            .ok_or(AuthError::NoSession)?;
        if record.last_seen < cutoff || record.expires <= now {
            return Err(AuthError::NoSession);
        }
        if now.0 - record.last_seen.0 < TOUCH_EVERY_MILLIS {
            return Ok(record);
        }
        self.store
            .touch_session(id_hash, now, cutoff)
            .await?
            .ok_or(AuthError::NoSession)
    }

    /// What the UI may know of the caller's session.
    pub fn describe_session(&self, actor: &Actor) -> SessionInfo {
        SessionInfo {
            user: actor.user_name.clone(),
            level: actor.level,
            lang: actor.lang,
            client_id: actor.client_id,
            has_parent: actor.parent_hash.is_some(),
        }
    }

    /// Ends the caller's session (and any `su` sessions opened from it).
    pub async fn logout(&self, token: &SessionToken) -> Result<(), AuthError> {
        self.store.delete_session(&token.hash()).await?;
        Ok(())
    }

    /// Opens a client-level session for `client_id`, linked to the admin's session (when the
    /// admin has one) so that the admin can return (`chlevel&lp=1`). Used by `runningoperation.su`.
    pub(crate) async fn open_client_session(
        &self,
        actor: &Actor,
        client_id: i64,
    ) -> Result<SessionToken, AuthError> {
        actor.require_admin()?;
        let Some(user_id) = actor.user_id else {
            return Err(AuthError::NoSession);
        };
        let now = self.now();
        let token = SessionToken::generate();
        self.store
            .insert_session(&SessionRecord {
                id_hash: token.hash(),
                user_id,
                user_name: actor.user_name.clone(),
                level: Level::User,
                client_id: Some(client_id),
                parent_hash: actor.session_hash.clone(),
                lang: actor.lang,
                created: now,
                last_seen: now,
                expires: self.session_end(now, actor.session_hash.is_none()),
            })
            .await?;
        Ok(token)
    }

    /// Switches the caller's session (and its `su` sessions) to `lang`.
    pub async fn change_lang(&self, actor: &Actor, lang: Lang) -> Result<(), AuthError> {
        let hash = actor.session_hash.as_deref().ok_or(AuthError::NotSu)?;
        self.store.set_session_lang(hash, lang).await?;
        if let Some(user_id) = actor.user_id {
            self.store.set_user_lang(user_id, lang).await?;
        }
        Ok(())
    }

    /// Leaves an `su` session: it ends, and the admin session it came from goes on.
    pub async fn leave_client_session(&self, actor: &Actor) -> Result<(), AuthError> {
        let (Some(hash), Some(_)) = (&actor.session_hash, &actor.parent_hash) else {
            return Err(AuthError::NotSu);
        };
        self.store.delete_session(hash).await?;
        Ok(())
    }

    /// Ends every session idle for longer than the expiry; returns how many.
    pub async fn expire_sessions(&self) -> Result<u64, AuthError> {
        Ok(self
            .store
            .delete_idle_sessions(Timestamp(self.now().0 - SESSION_IDLE_MILLIS))
            .await?)
    }
}

fn actor_of(record: &SessionRecord) -> Actor {
    Actor {
        user_id: Some(record.user_id),
        user_name: record.user_name.clone(),
        level: record.level,
        client_id: record.client_id,
        session_hash: Some(record.id_hash.clone()),
        parent_hash: record.parent_hash.clone(),
        lang: record.lang,
    }
}

fn session_info(record: &SessionRecord) -> SessionInfo {
    SessionInfo {
        user: record.user_name.clone(),
        level: record.level,
        lang: record.lang,
        client_id: record.client_id,
        has_parent: record.parent_hash.is_some(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_token_never_prints_its_id() {
        let token = SessionToken::generate();
        assert_eq!(token.expose().len(), 64);
        assert!(!format!("{token:?}").contains(token.expose()));
        assert_ne!(token.hash(), token.expose());
    }
}
