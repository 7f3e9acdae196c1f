//! Conversations kept per instance in the data dir (`sessions/NAME.json`, owner-only), resumed
//! when the program starts again; and where `:export` puts an incident report.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use serde::de::DeserializeOwned;

use crate::private_file::{file_safe, write_private};

const FORMAT_VERSION: u32 = 1;

/// A saved conversation on disk (the messages are the app's chat messages; the store only
/// needs them to round-trip through JSON).
#[derive(Serialize, Deserialize)]
struct SessionFile<M> {
    version: u32,
    instance: String,
    messages: M,
}

/// Where conversations are saved.
#[derive(Debug, Clone)]
pub struct SessionStore {
    dir: PathBuf,
}

/// A saved conversation that could not be read; the file was moved aside, never overwritten.
#[derive(Debug, thiserror::Error)]
#[error("the saved conversation {path} could not be read ({reason}); it was kept as {kept}")]
pub struct SessionLoadError {
    pub path: String,
    pub reason: String,
    pub kept: String,
}

impl SessionStore {
    /// The store under a data directory.
    pub fn new(data_dir: &Path) -> Self {
        SessionStore {
            dir: data_dir.join("sessions"),
        }
    }

    /// The file of an instance's conversation (the name made safe for a file name).
    pub fn path_for(&self, instance: &str) -> PathBuf {
        self.dir.join(format!("{}.json", file_safe(instance)))
    }

    /// The saved conversation of an instance (empty when there is none).
    pub fn load<M: DeserializeOwned>(&self, instance: &str) -> Result<Vec<M>, SessionLoadError> {
        let path = self.path_for(instance);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(self.set_aside(&path, e.to_string())),
        };
        match serde_json::from_str::<SessionFile<Vec<M>>>(&text) {
            Ok(file) if file.version == FORMAT_VERSION => Ok(file.messages),
            Ok(file) => Err(self.set_aside(
                &path,
                format!("format version {} is not {FORMAT_VERSION}", file.version),
            )),
            Err(e) => Err(self.set_aside(&path, e.to_string())),
        }
    }

    fn set_aside(&self, path: &Path, reason: String) -> SessionLoadError {
        let stamp = Utc::now().format("%Y%m%dT%H%M%S");
        let kept = path.with_extension(format!("json.unreadable-{stamp}"));
        let kept = match std::fs::rename(path, &kept) {
            Ok(()) => kept.display().to_string(),
            Err(_) => path.display().to_string(),
        };
        SessionLoadError {
            path: path.display().to_string(),
            reason,
            kept,
        }
    }

    /// Saves a conversation atomically (temporary file + rename), readable by the owner only.
    pub fn save<M: Serialize>(&self, instance: &str, messages: &[M]) -> std::io::Result<PathBuf> {
        let path = self.path_for(instance);
        let file = SessionFile {
            version: FORMAT_VERSION,
            instance: instance.to_string(),
            messages,
        };
        let json = serde_json::to_vec_pretty(&file).map_err(std::io::Error::other)?;
        write_private(&path, &json)?;
        Ok(path)
    }
}

/// The default path of an exported report: `reports/NAME-YYYYmmddTHHMMSS.md` in the data dir.
pub fn default_report_path(data_dir: &Path, instance: &str, now: DateTime<Utc>) -> PathBuf {
    data_dir.join("reports").join(format!(
        "{}-{}.md",
        file_safe(instance),
        now.format("%Y%m%dT%H%M%S")
    ))
}
