//! Keyboard input: what a terminal event means to the demo, and a thread that reads them.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use tokio::sync::mpsc;

/// How often the reader thread looks at its stop flag while no key is pressed.
const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// What the user asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Leave the demo (Ctrl-C).
    Quit,
    /// Append printable text to what was typed.
    Type(String),
    /// Remove the last typed character.
    Backspace,
    /// Draw again (the terminal was resized).
    Redraw,
}

/// The action a terminal event asks for, if any.
pub fn action_for(event: &Event) -> Option<Action> {
    match event {
        Event::Key(key) => key_action(key),
        Event::Paste(text) => {
            let printable: String = text.chars().filter(|c| !c.is_control()).collect();
            (!printable.is_empty()).then_some(Action::Type(printable))
        }
        Event::Resize(_, _) => Some(Action::Redraw),
        _ => None,
    }
}

fn key_action(key: &KeyEvent) -> Option<Action> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    let ctrl_or_alt = key
        .modifiers
        .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
    match key.code {
        KeyCode::Char('c') | KeyCode::Char('C')
            if key.modifiers.contains(KeyModifiers::CONTROL) =>
        {
            Some(Action::Quit)
        }
        KeyCode::Char(c) if !ctrl_or_alt && !c.is_control() => Some(Action::Type(c.to_string())),
        KeyCode::Backspace => Some(Action::Backspace),
        _ => None,
    }
}

/// A thread reading terminal events into a channel; stopped and joined when dropped.
pub struct InputReader {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl InputReader {
    /// Starts reading. Events (or the error that ended reading) arrive on the returned channel.
    pub fn start() -> io::Result<(InputReader, mpsc::Receiver<io::Result<Event>>)> {
        let (tx, rx) = mpsc::channel(64);
        let stop = Arc::new(AtomicBool::new(false));
        let thread = std::thread::Builder::new()
            .name("demo-input".into())
            .spawn({
                let stop = Arc::clone(&stop);
                move || read_events(&stop, &tx)
            })?;
        Ok((
            InputReader {
                stop,
                thread: Some(thread),
            },
            rx,
        ))
    }
}

impl Drop for InputReader {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let Some(thread) = self.thread.take() else {
            return;
        };
        // It returns within one poll interval, unless the terminal hung up: crossterm's read
        // then spins on end-of-file and never returns, and joining it would keep the process
        // (at full CPU) from ever exiting. Left behind, it ends with the process.
        let deadline = std::time::Instant::now() + POLL_INTERVAL * 4;
        while !thread.is_finished() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        if thread.is_finished() {
            // A panic there was already reported by the hook.
            let _ = thread.join();
        }
    }
}

fn read_events(stop: &AtomicBool, tx: &mpsc::Sender<io::Result<Event>>) {
    while !stop.load(Ordering::Relaxed) {
        let next = match crossterm::event::poll(POLL_INTERVAL) {
            Ok(false) => continue,
            Ok(true) => crossterm::event::read(),
            Err(err) => Err(err),
        };
        let failed = next.is_err();
        if tx.blocking_send(next).is_err() || failed {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode, modifiers: KeyModifiers) -> Event {
        Event::Key(KeyEvent::new(code, modifiers))
    }

    #[test]
    fn printable_characters_are_typed() {
        let typed = |c| action_for(&key(KeyCode::Char(c), KeyModifiers::NONE));
        assert_eq!(typed('a'), Some(Action::Type("a".into())));
        assert_eq!(typed(' '), Some(Action::Type(" ".into())));
        assert_eq!(typed('é'), Some(Action::Type("é".into())));
        let shifted = action_for(&key(KeyCode::Char('A'), KeyModifiers::SHIFT));
        assert_eq!(shifted, Some(Action::Type("A".into())));
    }

    #[test]
    fn control_keys_are_not_typed() {
        for event in [
            key(KeyCode::Char('x'), KeyModifiers::CONTROL),
            key(KeyCode::Char('x'), KeyModifiers::ALT),
            key(KeyCode::Enter, KeyModifiers::NONE),
            key(KeyCode::Tab, KeyModifiers::NONE),
            key(KeyCode::Esc, KeyModifiers::NONE),
            key(KeyCode::Up, KeyModifiers::NONE),
            Event::FocusGained,
        ] {
            assert_eq!(action_for(&event), None, "{event:?}");
        }
    }

    #[test]
    fn ctrl_c_quits_and_backspace_edits() {
        assert_eq!(
            action_for(&key(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Some(Action::Quit)
        );
        assert_eq!(
            action_for(&key(KeyCode::Backspace, KeyModifiers::NONE)),
            Some(Action::Backspace)
        );
        assert_eq!(action_for(&Event::Resize(80, 24)), Some(Action::Redraw));
    }

    #[test]
    fn key_releases_are_ignored() {
        let mut release = KeyEvent::new(KeyCode::Char('a'), KeyModifiers::NONE);
        release.kind = KeyEventKind::Release;
        assert_eq!(action_for(&Event::Key(release)), None);
    }

    #[test]
    fn pasted_text_is_typed_without_control_characters() {
        let paste = Event::Paste("ab\ncd\x1b".into());
        assert_eq!(action_for(&paste), Some(Action::Type("abcd".into())));
        assert_eq!(action_for(&Event::Paste("\n".into())), None);
    }
}
