//! The messages part: what went wrong, in words for the person (the view shows the latest and
//! the earlier ones on hover). Any part's failure ends up here; the [`State`](super::State)
//! drops the messages of earlier work when new work starts, and the person may dismiss them.
//! What opening and indexing a folder had to say lives with the folder, not here.

/// Errors kept at most (the oldest go first).
const MAX_ERRORS: usize = 5;

#[derive(Debug, Default)]
pub struct Messages {
    errors: Vec<String>,
}

impl Messages {
    /// The errors shown, oldest first.
    pub fn errors(&self) -> &[String] {
        &self.errors
    }

    /// Adds an error to show.
    pub fn error(&mut self, message: impl Into<String>) {
        let message = message.into();
        // The same message twice in a row says nothing new.
        if self.errors.last() != Some(&message) {
            self.errors.push(message);
        }
        if self.errors.len() > MAX_ERRORS {
            self.errors.remove(0);
        }
    }

    /// Hides the errors (dismissed, or stale since new work started).
    pub fn clear(&mut self) {
        self.errors.clear();
    }
}

#[cfg(test)]
mod tests {
    use crate::state::testing::*;
    use crate::state::*;
    use std::path::PathBuf;

    #[test]
    fn a_new_action_clears_the_errors_of_the_ones_before() {
        let mut s = showing_a();
        for name in ["typo1.jpg", "typo2.jpg"] {
            let id = query_id(&s.apply(Action::SetQuery(PathBuf::from(name))));
            s.handle(Msg::QueryFailed {
                id,
                error: not_found(name),
            });
        }
        // Each new query cleared the error of the one before it.
        assert_eq!(
            s.messages.errors(),
            ["Cannot open typo2.jpg: entity not found"]
        );
        // Moving the selection is not new work: the message stays.
        s.apply(Action::MoveSelection(1, 0, 5));
        assert_eq!(s.messages.errors().len(), 1);
        s.apply(Action::OpenFolder(PathBuf::from("/photos")));
        assert!(s.messages.errors().is_empty());
    }

    #[test]
    fn switching_view_or_ticking_hides_a_stale_error_and_a_move_of_nothing_says_so() {
        let mut s = showing_a();
        s.apply(Action::ShowView(View::Duplicates));
        s.apply(Action::TrashSelected);
        assert_eq!(
            s.messages.errors(),
            ["Nothing is ticked: tick the photos to move first."]
        );
        s.apply(Action::ToggleSelected(PathBuf::from("/photos/b.jpg")));
        assert!(s.messages.errors().is_empty());
        s.apply(Action::ClearSelection);
        s.apply(Action::MoveSelectedTo(PathBuf::from("/elsewhere")));
        assert_eq!(s.messages.errors().len(), 1);
        s.apply(Action::ShowView(View::Search));
        assert!(s.messages.errors().is_empty());
    }
}
