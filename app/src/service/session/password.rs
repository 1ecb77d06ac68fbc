//! Passwords: argon2id hashes, checked in the throttle's turn (a missing user costs a check
//! too), logging in or calling once with a name and password, and setting a new password.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;

use super::{AuthError, SessionToken, UserError};
use crate::service::{Actor, Services};
use crate::store::UserRecord;
use crate::types::{FieldError, FieldReason, Lang, SessionInfo};

/// Shortest password `add_user` accepts.
pub const MIN_PASSWORD_CHARS: usize = 8;

/// The longest user name there can be; a longer one is refused without a lookup.
pub const MAX_NAME_CHARS: usize = 100;

/// Hashes a password with argon2id and a random salt (slow on purpose: run it through
/// [`LoginThrottle::verify`](super::LoginThrottle::verify)).
pub(super) fn hash_password(password: &str) -> String {
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
        let opened = self.open_session(&user, lang, false, None).await?;
        self.journal_login(&user, "password", addr).await;
        Ok(opened)
    }

    /// The hash of a new password, computed in its turn with the logins' checks.
    pub(super) async fn hashed(&self, password: &str) -> Result<String, UserError> {
        let password = password.to_owned();
        self.throttle
            .verify(move || hash_password(&password))
            .await
            .ok_or(UserError::Busy)
    }

    /// The user whose name and password these are. The try is counted before the password is
    /// checked (see [`crate::service::throttle`]); a refused try is not checked at all. A
    /// missing user costs a hash check too, so that timing does not tell which names exist.
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dummy_hash_parses() {
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
    }
}
