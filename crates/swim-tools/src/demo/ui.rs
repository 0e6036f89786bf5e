//! Drawing the view model with ratatui: the member pane, the event pane and the footer.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;
use swim_protocol::Status;

use super::state::{DemoState, LogEntry, MemberRow, View};
use super::text::time_of_day;

/// Member colours, by colour index (the seed's curses colours, in its order).
pub const PALETTE: [Color; 6] = [
    Color::Red,
    Color::Blue,
    Color::Cyan,
    Color::Green,
    Color::Magenta,
    Color::Yellow,
];

/// Below this body height the event pane is left out so members keep the room.
const MIN_BODY_WITH_EVENTS: u16 = 12;
/// Rows always left to the event pane (borders included) when it is shown.
const MIN_EVENTS_HEIGHT: u16 = 5;
/// Width of the local-member marker column.
const MARKER: &str = ">>> ";
const NO_MARKER: &str = "    ";
const AVAILABLE: &str = " Available: ";
const HELP: &str = " type: sets `typed` · Backspace: delete · Ctrl-C: quit";

/// The colour of colour index `index`.
pub fn colour(index: usize) -> Color {
    PALETTE[index % PALETTE.len()]
}

/// Draws the whole screen. Any size works; small screens show less.
pub fn draw(frame: &mut Frame, state: &DemoState) {
    let area = frame.area();
    if area.is_empty() {
        return;
    }
    let view = state.view();
    let [body, footer] = Layout::vertical([Constraint::Fill(1), Constraint::Length(1)]).areas(area);
    frame.render_widget(footer_line(&view, footer.width), footer);
    if body.is_empty() {
        return;
    }
    let bordered = body.height >= 3 && body.width >= 8;
    let inner_width = if bordered { body.width - 2 } else { body.width };
    let member_lines = member_lines(&view, usize::from(inner_width));
    let (members_area, events_area) = split_body(body, member_lines.len());
    let members = Paragraph::new(member_lines);
    if bordered {
        frame.render_widget(
            members.block(Block::bordered().title(" Members ")),
            members_area,
        );
    } else {
        frame.render_widget(members, members_area);
    }
    if let Some(events_area) = events_area {
        let shown = usize::from(events_area.height.saturating_sub(2));
        let lines = event_lines(state.log(), &view, shown);
        let events = Paragraph::new(lines).block(Block::bordered().title(" Events "));
        frame.render_widget(events, events_area);
    }
}

/// Splits the body between members (as tall as needed, borders included) and events.
fn split_body(body: Rect, member_lines: usize) -> (Rect, Option<Rect>) {
    if body.height < MIN_BODY_WITH_EVENTS {
        return (body, None);
    }
    let wanted = u16::try_from(member_lines.saturating_add(2)).unwrap_or(u16::MAX);
    let members_height = wanted.clamp(3, body.height - MIN_EVENTS_HEIGHT);
    let [members, events] =
        Layout::vertical([Constraint::Length(members_height), Constraint::Fill(1)]).areas(body);
    (members, Some(events))
}

/// The lines of every member, wrapped to `width` columns.
pub fn member_lines(view: &View, width: usize) -> Vec<Line<'static>> {
    let name_width = view
        .rows
        .iter()
        .map(|r| Span::raw(r.name.as_str()).width())
        .max();
    let clock_width = view.rows.iter().map(|r| r.clock.to_string().len()).max();
    view.rows
        .iter()
        .flat_map(|row| {
            row_lines(
                row,
                name_width.unwrap_or(0),
                clock_width.unwrap_or(1),
                width,
            )
        })
        .collect()
}

/// One member: marker, name, status and clock in columns, then `key=value` pairs. Pairs that
/// do not fit in `width` continue on indented lines, so every value stays readable.
pub fn row_lines(
    row: &MemberRow,
    name_width: usize,
    clock_width: usize,
    width: usize,
) -> Vec<Line<'static>> {
    let colour = Style::new()
        .fg(colour(row.colour))
        .add_modifier(Modifier::BOLD);
    let bold = Style::new().add_modifier(Modifier::BOLD);
    let mut head = vec![
        if row.local {
            Span::styled(MARKER, bold)
        } else {
            Span::raw(NO_MARKER)
        },
        Span::styled(format!("{:<name_width$}", row.name), colour),
        Span::raw(" "),
        Span::styled(
            format!("{:<7}", row.status.name()),
            status_style(row.status, colour),
        ),
        Span::styled(format!(" {:>clock_width$}", row.clock), bold),
    ];
    let Some(pairs) = &row.metadata else {
        head.push(Span::styled(" unknown", bold));
        return vec![Line::from(head)];
    };
    let head_width: usize = head.iter().map(Span::width).sum();
    let indent = head_width.min(width / 3);
    let mut lines = Vec::new();
    let mut line = head;
    let mut line_width = head_width;
    for pair in pairs {
        let spans = [
            Span::raw(" "),
            Span::raw(pair.key.clone()),
            Span::styled("=", Style::new().add_modifier(Modifier::DIM)),
            Span::styled(pair.value.to_string(), colour),
        ];
        let pair_width: usize = spans.iter().map(Span::width).sum();
        // Wrap when the pair does not fit and a fresh line gives it more room.
        if line_width + pair_width > width && line_width > indent {
            lines.push(Line::from(std::mem::take(&mut line)));
            line.push(Span::raw(" ".repeat(indent)));
            line_width = indent;
        }
        line.extend(spans);
        line_width += pair_width;
    }
    lines.push(Line::from(line));
    lines
}

fn status_style(status: Status, colour: Style) -> Style {
    match status {
        Status::Online => colour,
        Status::Suspect => colour.add_modifier(Modifier::REVERSED),
        Status::Offline => Style::new().add_modifier(Modifier::DIM | Modifier::CROSSED_OUT),
    }
}

/// The newest `count` entries of `log` (oldest first), each on one line.
fn event_lines<'a>(
    log: impl DoubleEndedIterator<Item = &'a LogEntry>,
    view: &View,
    count: usize,
) -> Vec<Line<'static>> {
    let mut newest: Vec<&LogEntry> = log.rev().take(count).collect();
    newest.reverse();
    newest
        .into_iter()
        .map(|entry| {
            let member_style = match view.colour_of(&entry.member) {
                Some(index) => Style::new().fg(colour(index)).add_modifier(Modifier::BOLD),
                None => Style::new().add_modifier(Modifier::BOLD),
            };
            Line::from(vec![
                Span::styled(
                    time_of_day(entry.at),
                    Style::new().add_modifier(Modifier::DIM),
                ),
                Span::raw(" "),
                Span::styled(entry.member.clone(), member_style),
                Span::raw(entry.detail()),
            ])
        })
        .collect()
}

/// Help on the left, the number of available members on the right; when narrow the help goes
/// first, then the label, and the count stays.
fn footer_line(view: &View, width: u16) -> Line<'static> {
    let count = view.available.to_string();
    let width = usize::from(width);
    let label = if width >= AVAILABLE.len() + count.len() {
        AVAILABLE
    } else {
        " "
    };
    let room = width.saturating_sub(label.len() + count.len());
    let help: String = HELP.chars().take(room).collect();
    Line::from(vec![
        Span::styled(
            format!("{help:<room$}"),
            Style::new().add_modifier(Modifier::DIM),
        ),
        Span::raw(label),
        Span::styled(count, Style::new().add_modifier(Modifier::BOLD)),
    ])
}
