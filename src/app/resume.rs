//! Conversations resumed at start: each instance's saved chat goes back into its view, and a
//! file that cannot be read is said in that chat (the store keeps it aside).

use super::chat::{ChatMessage, ChatRole};
use super::state::AppState;
use crate::services::sessions::SessionStore;

/// Loads every instance's saved conversation into the state, saying so in each chat; a file
/// that cannot be read is reported there (and kept aside).
pub fn resume_sessions(state: &mut AppState, store: &SessionStore) {
    for view in &mut state.instances {
        match store.load::<ChatMessage>(&view.config.name) {
            Ok(messages) if messages.is_empty() => {}
            Ok(messages) => {
                let since = messages[0].at.format("%Y-%m-%d %H:%M UTC");
                let n = messages.len();
                view.chat = messages;
                view.chat.push(ChatMessage::new(
                    ChatRole::Notice,
                    format!(
                        "resumed the conversation of {since} ({n} messages) — /clear starts afresh"
                    ),
                ));
            }
            Err(e) => view
                .chat
                .push(ChatMessage::new(ChatRole::Notice, e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn a_conversation_round_trips_and_a_broken_file_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let store = SessionStore::new(dir.path());
        let messages = vec![
            ChatMessage::new(ChatRole::User, "why slow?"),
            ChatMessage::new(ChatRole::Assistant, "KEYS * in the slowlog"),
        ];
        let path = store.save("cache/eu 1", &messages).unwrap();
        assert!(path.ends_with("sessions/cache_eu_1.json"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let loaded: Vec<ChatMessage> = store.load("cache/eu 1").unwrap();
        assert_eq!(loaded.len(), 2);
        assert_eq!(loaded[1].text, "KEYS * in the slowlog");
        assert_ne!(loaded[0].id, loaded[1].id, "fresh ids on load");
        assert!(store.load::<ChatMessage>("never-saved").unwrap().is_empty());

        std::fs::write(&path, "{ not json").unwrap();
        let err = store.load::<ChatMessage>("cache/eu 1").unwrap_err();
        assert!(err.to_string().contains("could not be read"), "{err}");
        assert!(Path::new(&err.kept).exists(), "kept aside: {}", err.kept);
        assert_eq!(std::fs::read_to_string(&err.kept).unwrap(), "{ not json");
    }
}
