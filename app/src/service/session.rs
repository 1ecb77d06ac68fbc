//! Users, logins and sessions: password hashes (argon2), session ids (random, stored only as
//! SHA-256), the one-hour idle expiry, and `su` sessions linked to the admin session they
//! came from.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::{internal, is_unique_violation, too_long, Actor, Denied, Services};
use crate::store::{SessionRecord, StoreError, UserRecord};
use crate::types::{AppError, FieldError, FieldReason, Lang, Level, SessionInfo, Timestamp};

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

/// Shortest password `add_user` accepts.
pub const MIN_PASSWORD_CHARS: usize = 8;

pub use super::throttle::{LoginThrottle, THROTTLE_FAILURES, THROTTLE_WINDOW_MILLIS};

/// The longest user name there can be; a longer one is refused without a lookup.
pub const MAX_NAME_CHARS: usize = 100;

/// Shortest key `session.newkey` accepts (BILLmanager: at least 16 characters).
pub const MIN_KEY_CHARS: usize = 16;
/// How long a pass-through login key stays usable.
pub const LOGIN_KEY_MILLIS: i64 = 5 * 60 * 1000;

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

/// Why a user could not be added or changed.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("no user {0}")]
    NotFound(String),
    /// Every turn to hash a password was taken for longer than the throttle waits.
    #[error("too many password checks at once")]
    Busy,
    #[error("invalid user fields")]
    Invalid(Vec<FieldError>),
    #[error(transparent)]
    Denied(#[from] Denied),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<UserError> for AppError {
    fn from(error: UserError) -> AppError {
        match error {
            UserError::NotFound(name) => AppError::Missed {
                object: "user".into(),
                value: name,
            },
            UserError::Invalid(fields) => AppError::Value { fields },
            UserError::Busy => AppError::Throttled,
            UserError::Denied(_) => AppError::Access,
            UserError::Store(e) => internal(&e),
        }
    }
}

/// Hashes a password with argon2id and a random salt (slow on purpose: run it through
/// [`LoginThrottle::verify`]).
fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .unwrap_or_default()
}

/// Checks a password against a stored hash (slow on purpose, like [`hash_password`]).
fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A valid hash of no one's password, checked when the user does not exist so that a missing
/// user takes as long to refuse as a wrong password.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Jc0r0Yz6OqO2d0VbQ2lS3JvS1hXbK0c8m2t9u0nYx5A";

impl Services {
    /// Adds a user. Employees (`admin`, `readonly`) have no client; a `user` belongs to one.
    pub async fn add_user(
        &self,
        actor: &Actor,
        name: &str,
        password: &str,
        level: Level,
        client_id: Option<i64>,
    ) -> Result<i64, UserError> {
        actor.require_admin()?;
        let name = name.trim();
        let mut errors = Vec::new();
        if name.is_empty() {
            errors.push(FieldError::new("name", name, FieldReason::Required));
        } else if too_long(name, 100) {
            errors.push(FieldError::new("name", name, FieldReason::TooLong(100)));
        }
        if password.chars().count() < MIN_PASSWORD_CHARS {
            errors.push(FieldError::new(
                "password",
                "",
                FieldReason::TooShort(MIN_PASSWORD_CHARS),
            ));
        }
        match (level, client_id) {
            (Level::User, None) => {
                errors.push(FieldError::new("client", "", FieldReason::Required))
            }
            (Level::User, Some(id)) if self.store.get_client(id).await?.is_none() => {
                errors.push(FieldError::new(
                    "client",
                    &id.to_string(),
                    FieldReason::NotFound,
                ));
            }
            (Level::Admin | Level::Readonly, Some(id)) => {
                errors.push(FieldError::new(
                    "client",
                    &id.to_string(),
                    FieldReason::Unknown,
                ));
            }
            _ => {}
        }
        if !errors.is_empty() {
            return Err(UserError::Invalid(errors));
        }
        let user = UserRecord {
            id: 0,
            name: name.to_owned(),
            password_hash: self.hashed(password).await?,
            level,
            client_id,
            lang: None,
        };
        let entry = self.journal(
            actor,
            "user.edit",
            "user",
            None,
            format!("add {name} ({})", level.raw()),
        );
        self.store
            .insert_user(&user, self.now(), &entry)
            .await
            .map_err(|e| {
                if is_unique_violation(&e) {
                    UserError::Invalid(vec![FieldError::new("name", name, FieldReason::Taken)])
                } else {
                    UserError::Store(e)
                }
            })
    }

    /// Sets a new password for the user `name`.
    pub async fn set_password(
        &self,
        actor: &Actor,
        name: &str,
        password: &str,
    ) -> Result<(), UserError> {
        actor.require_admin()?;
        if password.chars().count() < MIN_PASSWORD_CHARS {
            return Err(UserError::Invalid(vec![FieldError::new(
                "password",
                "",
                FieldReason::TooShort(MIN_PASSWORD_CHARS),
            )]));
        }
        let user = self
            .store
            .find_user(name)
            .await?
            .ok_or_else(|| UserError::NotFound(name.into()))?;
        let entry = self.journal(
            actor,
            "user.edit",
            "user",
            Some(user.id),
            "new password".into(),
        );
        self.store
            .set_password(user.id, &self.hashed(password).await?, &entry)
            .await?;
        Ok(())
    }

    /// Logs in with a name and password from client address `addr`; returns the new session's
    /// id and what the UI may know. Failed logins are throttled per user and per address.
    pub async fn login(
        &self,
        name: &str,
        password: &str,
        lang: Lang,
        addr: Option<&str>,
    ) -> Result<(SessionToken, SessionInfo), AuthError> {
        let user = self.check_password(name, password, addr).await?;
        self.open_session(&user, lang, false, None).await
    }

    /// The hash of a new password, computed in its turn with the logins' checks.
    async fn hashed(&self, password: &str) -> Result<String, UserError> {
        let password = password.to_owned();
        self.throttle
            .verify(move || hash_password(&password))
            .await
            .ok_or(UserError::Busy)
    }

    /// The user whose name and password these are. The try is counted before the password is
    /// checked (see [`super::throttle`]); a refused try is not checked at all. A missing user
    /// costs a hash check too, so that timing does not tell which names exist.
    async fn check_password(
        &self,
        name: &str,
        password: &str,
        addr: Option<&str>,
    ) -> Result<UserRecord, AuthError> {
        let attempt = self
            .throttle
            .admit(name, addr, || self.now())
            .await
            .ok_or(AuthError::Throttled)?;
        let name = name.trim();
        let checked = async {
            let user = if name.chars().count() > MAX_NAME_CHARS {
                None
            } else {
                self.store.find_user(name).await?
            };
            let hash = user
                .as_ref()
                .map_or(DUMMY_HASH.to_owned(), |u| u.password_hash.clone());
            let password = password.to_owned();
            let verified = self
                .throttle
                .verify(move || verify_password(&password, &hash))
                .await
                .ok_or(AuthError::Throttled)?;
            user.filter(|_| verified).ok_or(AuthError::BadCredentials)
        };
        let result = checked.await;
        match &result {
            Ok(_) => self.throttle.succeeded(attempt, name),
            Err(_) => self.throttle.failed(attempt),
        }
        result
    }

    /// Checks a name and password for one call (`authinfo=user:password`): no session is kept,
    /// and failures are throttled as logins are.
    pub async fn authenticate_password(
        &self,
        name: &str,
        password: &str,
        lang: Lang,
        addr: Option<&str>,
    ) -> Result<Actor, AuthError> {
        let user = self.check_password(name, password, addr).await?;
        Ok(Actor {
            user_id: Some(user.id),
            user_name: user.name,
            level: user.level,
            client_id: user.client_id,
            session_hash: None,
            parent_hash: None,
            lang,
        })
    }

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
        self.open_session(&user, lang, false, None).await
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

    #[test]
    fn the_dummy_hash_parses() {
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
    }
}
