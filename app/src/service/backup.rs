//! Backups: a consistent copy of the database in a file of the operator's choosing, taken while
//! the server runs. The store makes the copy; this module makes sure that it never overwrites
//! a file, that no half-written copy is left behind, and that the copy is on disk when it says
//! so.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use super::{Actor, Denied, Services};
use crate::store::StoreError;

/// Why a backup was not made. Every case leaves no file behind that was not there before.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{} already exists: a backup never overwrites a file", .0.display())]
    Exists(PathBuf),
    #[error("{} is not UTF-8: the database takes only UTF-8 file names", .0.display())]
    NotUtf8(PathBuf),
    #[error("cannot write {}: {source}", .path.display())]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The backend has its own tool for backups (the message names it).
    #[error("{0}")]
    Unsupported(String),
    #[error(transparent)]
    Denied(#[from] Denied),
    #[error("cannot back up the database: {0}")]
    Store(#[from] StoreError),
}

/// A backup written: what the operator is told.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackupSummary {
    pub path: PathBuf,
    /// The copy's size in bytes.
    pub bytes: u64,
}

impl Services {
    /// Copies the database into a new file at `path` while the server may be using it, so that
    /// it can be backed up without stopping anything. The file is created here, exclusively:
    /// an existing one (even empty) is refused and left as it was; if the copy fails, the file
    /// is removed again. The file is readable by its owner only (it holds password hashes and
    /// module secrets). SQLite does not flush the copy to disk itself: this does, before saying
    /// it is done. PostgreSQL is refused ([`BackupError::Unsupported`]): `pg_dump`.
    pub async fn backup_database(
        &self,
        actor: &Actor,
        path: &Path,
    ) -> Result<BackupSummary, BackupError> {
        actor.require_admin()?;
        let name = path
            .to_str()
            .ok_or_else(|| BackupError::NotUtf8(path.to_owned()))?;
        let file_error = |source| BackupError::File {
            path: path.to_owned(),
            source,
        };
        // Taking the name first, atomically, leaves no moment in which another process's file
        // could appear there and be written over (SQLite itself writes into an empty file).
        // The copy holds password hashes and module secrets: its owner alone may read it.
        let mut create = std::fs::OpenOptions::new();
        create.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut create, 0o600);
        match create.open(path) {
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                return Err(BackupError::Exists(path.to_owned()))
            }
            Err(e) => return Err(file_error(e)),
        }
        let copied = match self.store.backup(name).await {
            Ok(()) => flush(path).map_err(file_error),
            Err(StoreError::Configuration(why)) => Err(BackupError::Unsupported(why.to_string())),
            Err(e) => Err(BackupError::Store(e)),
        };
        match copied {
            Ok(bytes) => Ok(BackupSummary {
                path: path.to_owned(),
                bytes,
            }),
            Err(error) => {
                // Ours: created above, and holding no complete copy.
                let _ = std::fs::remove_file(path);
                Err(error)
            }
        }
    }
}

/// Puts the file at `path` on disk, and its name in its directory; returns its size.
fn flush(path: &Path) -> std::io::Result<u64> {
    let file = std::fs::File::open(path)?;
    file.sync_all()?;
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    std::fs::File::open(directory)?.sync_all()?;
    Ok(file.metadata()?.len())
}
