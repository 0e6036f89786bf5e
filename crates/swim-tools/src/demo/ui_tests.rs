//! Rendering tests on ratatui's in-memory backend.

use std::time::{Duration, SystemTime};

use ratatui::backend::TestBackend;
use ratatui::Terminal;
use swim_protocol::{MemberChange, MemberName, MemberSnapshot, Metadata, Status};

use super::state::DemoState;
use super::ui::{colour, draw, member_lines};

fn member(port: u16, local: bool, status: Status, metadata: Metadata) -> MemberSnapshot {
    MemberSnapshot {
        name: MemberName::from(format!("127.0.0.1:{port}")),
        local,
        clock: u64::from(port) - 2000,
        status,
        status_time: Duration::ZERO,
        metadata: Some(metadata),
        left: false,
    }
}

fn four_members() -> DemoState {
    let token: Metadata = [("token", vec![0xa5u8; 16])].into_iter().collect();
    let typed = token.with("typed", "hello from the demo, 30 chars");
    DemoState::new([
        member(2001, false, Status::Online, typed.clone()),
        member(2002, true, Status::Online, typed),
        member(2003, false, Status::Suspect, token.clone()),
        member(2004, false, Status::Offline, token),
    ])
}

fn render(state: &DemoState, width: u16, height: u16) -> Vec<String> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| draw(frame, state)).unwrap();
    let buffer = terminal.backend().buffer();
    (0..height)
        .map(|y| {
            (0..width)
                .map(|x| buffer[(x, y)].symbol())
                .collect::<String>()
        })
        .collect()
}

#[test]
fn standard_terminal_shows_members_events_and_footer() {
    let mut state = four_members();
    let before = member(2003, false, Status::Suspect, Metadata::empty());
    let after = MemberSnapshot {
        status: Status::Offline,
        ..before.clone()
    };
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(3600);
    state.apply(
        &MemberChange {
            member: after,
            previous: before,
        },
        at,
    );
    let lines = render(&state, 80, 24);
    let screen = lines.join("\n");
    assert!(lines[0].contains("Members"), "{screen}");
    let local = lines
        .iter()
        .find(|l| l.contains(">>> 127.0.0.1:2002"))
        .expect(&screen);
    assert!(local.contains("ONLINE"), "{screen}");
    // Each member shows its name, status and clock; values are not lost to the width.
    for (port, status) in [(2001, "ONLINE"), (2003, "SUSPECT"), (2004, "OFFLINE")] {
        let name = format!("127.0.0.1:{port}");
        let row = lines
            .iter()
            .find(|l| l.contains(&name) && l.contains(status));
        assert!(row.is_some(), "{name} {status} missing:\n{screen}");
    }
    assert!(
        screen.contains("typed=hello from the demo, 30 chars"),
        "{screen}"
    );
    assert!(
        screen.contains(&format!("token={}", "a5".repeat(16))),
        "{screen}"
    );
    assert!(screen.contains("Events"), "{screen}");
    assert!(
        screen.contains("01:00:00.000 127.0.0.1:2003 SUSPECT → OFFLINE"),
        "{screen}"
    );
    assert!(lines[23].trim_end().ends_with("Available: 2"), "{screen}");
}

#[test]
fn rows_keep_member_order_and_colours() {
    let state = four_members();
    let view = state.view();
    let lines = member_lines(&view, 200);
    assert_eq!(lines.len(), 4, "one line per member when wide enough");
    for (i, line) in lines.iter().enumerate() {
        let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
        assert!(text.contains(&format!("127.0.0.1:{}", 2001 + i)), "{text}");
        assert_eq!(line.spans[1].style.fg, Some(colour(i)));
    }
    assert_ne!(colour(0), colour(1));
}

#[test]
fn narrow_rows_wrap_pairs_onto_indented_lines() {
    let view = four_members().view();
    let lines = member_lines(&view, 60);
    assert!(lines.len() > 4);
    for line in &lines {
        let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
        assert!(
            line.width() <= 60 || !text.starts_with(' '),
            "too wide: {text:?}"
        );
    }
}

#[test]
fn small_terminals_draw_without_panicking() {
    let state = four_members();
    for width in [0, 1, 2, 5, 8, 10, 20, 40, 79] {
        for height in [0, 1, 2, 3, 4, 6, 11, 12, 13, 24] {
            let lines = render(&state, width, height);
            assert_eq!(lines.len(), usize::from(height));
        }
    }
    let tiny = render(&state, 20, 1);
    assert!(tiny[0].contains("Available: 3"), "{tiny:?}");
    let narrow = render(&state, 6, 2);
    assert!(narrow[1].ends_with(" 3"), "the count stays: {narrow:?}");
    let empty = render(&DemoState::default(), 80, 24);
    assert!(empty[23].contains("Available: 1"));
}
