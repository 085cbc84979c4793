//! Out-Default's formatting of one output stream, as Windows PowerShell 5.1
//! shows what `Invoke-Command` returns (with `-HideComputerName`: no
//! PSComputerName/RunspaceId columns). PowerShell's formatter decides so
//! (`InnerFormatShapeCommand`, `OutOfBandFormatViewManager`):
//!
//! * a scalar (string, number, boolean, date, enum; an object without
//!   properties) is written "out of band": its text, one line per line,
//!   whatever is being shown around it; a date is DateTime's view (its long
//!   form, framed by blank lines), a `<Version>` System.Version's table;
//! * the first other object decides the shape of the whole stream: its
//!   type's view in PowerShell's format data ([`super::views`]), else a
//!   table for up to four properties, a list for five or more;
//! * a later object goes into that shape when it applies: always for a
//!   table or list without a view (a table row with the first object's
//!   columns, blank where it has no such property), for a view when its
//!   type is the view's; any other is written out of band as a list.
//!
//! Streaming, as PowerShell's is: a table's columns are sized from its
//! first [`TABLE_SAMPLE`] rows (PowerShell waits up to 300 ms for them; the
//! caller releases rows held longer with [`OutDefault::release`]), later
//! rows are cut to those widths; what comes while rows are held waits with
//! them, so the order is kept. The layout is the test host's
//! (`fixtures/testhost/testhost/formatting.py`, taken from PowerShell's own
//! Format-Table and Format-List tests): the two print the same objects alike.
use std::time::Instant;

use psrp::clixml::{Content, PsObject, Value};

use super::number::DateParts;
use super::views::{self, View};
use super::{to_inline, wrap, write_text};

/// Rows a table holds before its column widths are fixed.
pub const TABLE_SAMPLE: usize = 32;
/// From this many properties on, an object without a view is a list.
pub const LIST_MIN_PROPERTIES: usize = 5;
/// The width used when output goes to a pipe or a file: PowerShell's
/// Out-String width when the host has no console (the test host's too).
pub const DEFAULT_WIDTH: usize = 120;

/// One cell: its text on one line and whether it holds a number (a
/// number's column is aligned right).
#[derive(Debug, Clone)]
struct Cell {
    text: String,
    numeric: bool,
}

/// What waits for a table's widths: a row (with its group), or text
/// written out of band after it.
#[derive(Debug, Clone)]
enum Held {
    Row {
        group: Option<String>,
        cells: Vec<Cell>,
    },
    Text(String),
}

/// The table being written.
#[derive(Debug, Clone)]
struct Table {
    labels: Vec<String>,
    /// For a default table: the property each column shows.
    names: Vec<String>,
    view: Option<&'static View>,
    /// Column widths, once fixed (the header is then written).
    widths: Option<Vec<usize>>,
    right: Vec<bool>,
    held: Vec<Held>,
    held_since: Option<Instant>,
    /// The group of the last row written.
    group: Option<String>,
}

/// Where the formatter is: between groups, in a table, or in a run of lists.
#[derive(Debug, Clone, Default)]
enum State {
    #[default]
    Idle,
    Table(Box<Table>),
    Lists,
}

/// Out-Default for one output stream: [`add`](Self::add) each object as it
/// arrives, [`end`](Self::end) when the stream ends. Text goes to `emit`,
/// one or more lines (`\n` between them, no line end) per call. Memory is
/// bounded: at most [`TABLE_SAMPLE`] rows (and four times as many entries
/// with the lines written out of band among them) are held.
#[derive(Debug, Clone)]
pub struct OutDefault {
    width: usize,
    state: State,
}

impl OutDefault {
    /// A formatter for a console `width` columns wide (at least 10).
    pub fn new(width: usize) -> Self {
        OutDefault {
            width: width.max(10),
            state: State::Idle,
        }
    }

    /// Formats one output object.
    pub fn add(&mut self, value: &Value, emit: &mut dyn FnMut(&str)) {
        match value {
            // The common case first: a string is its own line.
            Value::String(s) => self.out_of_band(s, emit),
            Value::Object(obj) => self.add_object(obj, true, emit),
            Value::Null => {}
            Value::DateTime(t) => self.date_time(t, None, emit),
            Value::Version(v) => self.add_object(&views::version(v), false, emit),
            other => {
                let mut text = String::new();
                write_text(&mut text, other);
                self.out_of_band(&text, emit);
            }
        }
    }

    /// The stream ended: held rows are written, and the closing blank lines.
    pub fn end(&mut self, emit: &mut dyn FnMut(&str)) {
        self.end_group(emit);
    }

    /// Since when table rows have been held waiting for more (None when
    /// none are): the caller [`release`](Self::release)s them after 300 ms
    /// without more output, as PowerShell does.
    pub fn held_since(&self) -> Option<Instant> {
        match &self.state {
            State::Table(t) => t.held_since,
            _ => None,
        }
    }

    /// Fixes the widths of the table being held and writes its rows.
    pub fn release(&mut self, emit: &mut dyn FnMut(&str)) {
        let width = self.width;
        if let State::Table(t) = &mut self.state {
            if t.widths.is_none() {
                t.fix(width, emit);
            }
        }
    }

    fn add_object(&mut self, obj: &PsObject, enumerate: bool, emit: &mut dyn FnMut(&str)) {
        match &obj.content {
            // Out-Default enumerates a collection (one level).
            Content::List(items) | Content::Stack(items) | Content::Queue(items) if enumerate => {
                for item in items {
                    match item {
                        Value::Object(o) => self.add_object(o, false, emit),
                        other => self.add(other, emit),
                    }
                }
                return;
            }
            // A hashtable is shown as its entries (DictionaryEntry objects).
            Content::Dictionary(pairs) => {
                for (k, v) in pairs {
                    self.add_object(&views::dictionary_entry(k, v), false, emit);
                }
                return;
            }
            Content::None if !obj.adapted.is_empty() || !obj.extended.is_empty() => {}
            // A date with its DisplayHint note (Get-Date's), a version.
            Content::Primitive(Value::DateTime(t)) => {
                let hint = views::property(obj, "DisplayHint").map(to_inline);
                return self.date_time(t, hint.as_deref(), emit);
            }
            Content::Primitive(Value::Version(v)) => {
                return self.add_object(&views::version(v), false, emit)
            }
            // Scalars: enums, wrapped primitives, objects without properties.
            _ => {
                let mut text = String::new();
                write_text(&mut text, &Value::Object(Box::new(obj.clone())));
                return self.out_of_band(&text, emit);
            }
        }
        // A WMI object shows its type's DefaultDisplayPropertySet only.
        let shown = views::displayed(obj);
        let obj = shown.as_ref().unwrap_or(obj);
        let view = views::select(obj);
        match &self.state {
            State::Idle => {}
            State::Lists => return self.list(obj, emit),
            State::Table(t) => match (t.view, view) {
                // A table without a view takes any object, in its columns.
                (None, _) => {
                    let cells = t
                        .names
                        .iter()
                        .map(|n| views::property(obj, n).map_or_else(empty, cell))
                        .collect();
                    return self.row(None, cells, emit);
                }
                (Some(current), Some(v)) if std::ptr::eq(current, v) => {
                    let group = views::group(v, obj);
                    return self.row(group, view_cells(v, obj), emit);
                }
                // Another type than the view's: a list, out of band.
                (Some(_), _) => {
                    let mut text = String::from("\n");
                    list_lines(obj, self.width, &mut text);
                    text.push('\n');
                    return self.out_of_band(&text, emit);
                }
            },
        }
        // The first object: its view, else a table or a list by its size.
        if let Some(v) = view {
            self.state = State::Table(Box::new(Table::new(
                v.columns.iter().map(|c| c.label.to_string()).collect(),
                Vec::new(),
                Some(v),
            )));
            let group = views::group(v, obj);
            return self.row(group, view_cells(v, obj), emit);
        }
        if obj.adapted.len() + obj.extended.len() >= LIST_MIN_PROPERTIES {
            self.state = State::Lists;
            emit("\n");
            return self.list(obj, emit);
        }
        let props = obj.adapted.iter().chain(obj.extended.iter());
        let names: Vec<String> = props.clone().map(|(n, _)| n.clone()).collect();
        let cells = props.map(|(_, v)| cell(v)).collect();
        self.state = State::Table(Box::new(Table::new(names.clone(), names, None)));
        self.row(None, cells, emit);
    }

    /// A DateTime: DotNetTypes.format.ps1xml's `DateTime` view, written
    /// out of band framed by blank lines (one before, two after): the
    /// long date and long time, or the one its DisplayHint (`Date`, `Time`,
    /// `DateTime`, or their numbers 0, 1, 2) asks for.
    fn date_time(&mut self, text: &str, hint: Option<&str>, emit: &mut dyn FnMut(&str)) {
        let Some(d) = DateParts::parse(text) else {
            return self.out_of_band(text, emit);
        };
        let shown = match hint {
            Some("Date" | "0") => d.long_date(),
            Some("Time" | "1") => d.long_time(),
            _ => format!("{} {}", d.long_date(), d.long_time()),
        };
        self.out_of_band(&format!("\n{shown}\n\n"), emit);
    }

    /// A scalar's text (or an out-of-band list): written at once, or after
    /// the table rows held before it.
    fn out_of_band(&mut self, text: &str, emit: &mut dyn FnMut(&str)) {
        if let State::Table(t) = &mut self.state {
            if t.widths.is_none() {
                return t.held.push(Held::Text(text.to_string()));
            }
        }
        emit(text);
    }

    /// Adds a row to the current table: held until the widths are fixed.
    fn row(&mut self, group: Option<String>, cells: Vec<Cell>, emit: &mut dyn FnMut(&str)) {
        let width = self.width;
        let State::Table(t) = &mut self.state else {
            return;
        };
        if t.widths.is_some() {
            return t.write_row(group, &cells, emit);
        }
        t.held_since.get_or_insert_with(Instant::now);
        t.held.push(Held::Row { group, cells });
        let rows = t
            .held
            .iter()
            .filter(|h| matches!(h, Held::Row { .. }))
            .count();
        if rows >= TABLE_SAMPLE || t.held.len() >= 4 * TABLE_SAMPLE {
            t.fix(width, emit);
        }
    }

    /// An object of a run of lists: its `Name : value` lines, then a blank line.
    fn list(&mut self, obj: &PsObject, emit: &mut dyn FnMut(&str)) {
        let mut text = String::new();
        list_lines(obj, self.width, &mut text);
        text.push('\n');
        emit(&text);
    }

    /// Ends a table (its held rows written, then two blank lines) or a run
    /// of lists (two more blank lines after its last object's).
    fn end_group(&mut self, emit: &mut dyn FnMut(&str)) {
        match std::mem::take(&mut self.state) {
            State::Idle => {}
            State::Table(mut t) => {
                if t.widths.is_none() {
                    t.fix(self.width, emit);
                }
                emit("\n");
            }
            State::Lists => emit("\n"),
        }
    }
}

impl Table {
    fn new(labels: Vec<String>, names: Vec<String>, view: Option<&'static View>) -> Table {
        Table {
            labels,
            names,
            view,
            widths: None,
            right: Vec::new(),
            held: Vec::new(),
            held_since: None,
            group: None,
        }
    }

    /// The cells of the held rows.
    fn held_cells(&self) -> impl Iterator<Item = &Vec<Cell>> {
        self.held.iter().filter_map(|h| match h {
            Held::Row { cells, .. } => Some(cells),
            Held::Text(_) => None,
        })
    }

    /// Fixes the widths from the held rows, writes the header and the rows.
    fn fix(&mut self, width: usize, emit: &mut dyn FnMut(&str)) {
        let columns = self.labels.len();
        let mut widths = Vec::with_capacity(columns);
        let mut right = Vec::with_capacity(columns);
        for i in 0..columns {
            let fixed = self.view.and_then(|v| v.columns[i].width);
            let measured = || {
                self.held_cells()
                    .filter_map(|r| r.get(i))
                    .map(|c| c.text.chars().count())
                    .fold(self.labels[i].chars().count(), usize::max)
            };
            widths.push(fixed.unwrap_or_else(measured));
            right.push(match self.view {
                Some(v) => v.columns[i].right,
                None => self
                    .held_cells()
                    .filter_map(|r| r.get(i))
                    .find(|c| !c.text.is_empty())
                    .is_some_and(|c| c.numeric),
            });
        }
        // Left to right while they fit; a column partly over the edge is
        // cut, the rest left out.
        let mut kept = Vec::with_capacity(columns);
        let mut used = 0;
        for w in widths {
            let start = used + usize::from(!kept.is_empty());
            if start + w <= width {
                kept.push(w);
                used = start + w;
            } else {
                let room = width.saturating_sub(start);
                if room >= 4 {
                    kept.push(room);
                }
                break;
            }
        }
        right.truncate(kept.len());
        self.labels.truncate(kept.len());
        self.widths = Some(kept);
        self.right = right;
        self.held_since = None;
        let held = std::mem::take(&mut self.held);
        let mut header_written = false;
        for entry in held {
            match entry {
                Held::Row { group, cells } => {
                    if !header_written || group != self.group {
                        self.write_header(group, emit);
                        header_written = true;
                    }
                    emit(&self.line(&cells));
                }
                // Out-of-band text, in its place among the rows.
                Held::Text(text) => emit(&text),
            }
        }
        if !header_written {
            self.write_header(None, emit);
        }
    }

    /// The group header (a new folder) and the column header.
    fn write_header(&mut self, group: Option<String>, emit: &mut dyn FnMut(&str)) {
        let mut text = String::new();
        if let Some(g) = &group {
            // Two blank lines before `    Directory: X` and two after it.
            text.push_str("\n\n");
            text.push_str("    Directory: ");
            text.push_str(g);
            text.push_str("\n\n\n");
        } else {
            text.push('\n');
        }
        self.group = group;
        let labels: Vec<Cell> = self.labels.iter().map(|l| plain(l.clone())).collect();
        let dashes: Vec<Cell> = self
            .labels
            .iter()
            .map(|l| plain("-".repeat(l.chars().count())))
            .collect();
        text.push_str(&self.line(&labels));
        text.push('\n');
        text.push_str(&self.line(&dashes));
        emit(&text);
    }

    /// A row written after the widths were fixed (a new group first).
    fn write_row(&mut self, group: Option<String>, cells: &[Cell], emit: &mut dyn FnMut(&str)) {
        if group != self.group {
            // A new folder: two blank lines, its name, its own header.
            self.write_header(group, emit);
        }
        emit(&self.line(cells));
    }

    /// One line of the table: cells cut and padded to their columns, one
    /// space apart, no trailing whitespace.
    fn line(&self, cells: &[Cell]) -> String {
        let widths = self.widths.as_deref().unwrap_or(&[]);
        let mut out = String::new();
        for (i, (&w, &right)) in widths.iter().zip(&self.right).enumerate() {
            if i > 0 {
                out.push(' ');
            }
            let text = cells.get(i).map_or("", |c| c.text.as_str());
            let cut = cut(text, w);
            let len = cut.chars().count();
            if right {
                pad(&mut out, w - len);
                out.push_str(&cut);
            } else {
                out.push_str(&cut);
                pad(&mut out, w - len);
            }
        }
        let kept = out.trim_end().len();
        out.truncate(kept);
        out
    }
}

/// A view's cells for `obj`, each on one line.
fn view_cells(view: &View, obj: &PsObject) -> Vec<Cell> {
    views::cells(view, obj)
        .into_iter()
        .map(|text| Cell {
            text: one_line(text),
            numeric: false,
        })
        .collect()
}

/// `obj`'s `Name : value` lines (names padded to the longest, a long value
/// word-wrapped under itself ([`wrap::words`]), as are its own line
/// breaks), appended to `out`.
fn list_lines(obj: &PsObject, width: usize, out: &mut String) {
    let props: Vec<&(String, Value)> = obj.adapted.iter().chain(obj.extended.iter()).collect();
    let label = props
        .iter()
        .map(|(n, _)| n.chars().count())
        .max()
        .unwrap_or(0);
    let room = width.saturating_sub(label + 3).max(1);
    let mut first_line = true;
    for (name, value) in props {
        let text = to_inline(value);
        let mut first = true;
        for part in text.split('\n') {
            let part = part.strip_suffix('\r').unwrap_or(part);
            for head in wrap::words(part, room) {
                if !first_line {
                    out.push('\n');
                }
                first_line = false;
                let start = out.len();
                if first {
                    out.push_str(name);
                    pad(out, label - name.chars().count());
                    out.push_str(" : ");
                } else {
                    pad(out, label + 3);
                }
                out.push_str(head);
                let kept = out[start..].trim_end().len();
                out.truncate(start + kept);
                first = false;
            }
        }
    }
}

/// `text` in at most `width` columns: cut, ending with `...`, when longer
/// (Windows PowerShell 5.1's mark; PowerShell 7 writes `…`).
fn cut(text: &str, width: usize) -> std::borrow::Cow<'_, str> {
    if text.chars().count() <= width {
        return text.into();
    }
    if width > 3 {
        let head: String = text.chars().take(width - 3).collect();
        format!("{head}...").into()
    } else {
        text.chars().take(width).collect::<String>().into()
    }
}

fn pad(out: &mut String, n: usize) {
    for _ in 0..n {
        out.push(' ');
    }
}

/// A cell's text on one line: line breaks become spaces.
fn one_line(text: String) -> String {
    if text.contains('\n') {
        text.replace("\r\n", " ").replace('\n', " ")
    } else {
        text
    }
}

fn cell(value: &Value) -> Cell {
    Cell {
        text: one_line(to_inline(value)),
        numeric: is_number(value),
    }
}

fn plain(text: String) -> Cell {
    Cell {
        text,
        numeric: false,
    }
}

fn empty() -> Cell {
    plain(String::new())
}

fn is_number(value: &Value) -> bool {
    matches!(
        value,
        Value::U8(_)
            | Value::I8(_)
            | Value::U16(_)
            | Value::I16(_)
            | Value::U32(_)
            | Value::I32(_)
            | Value::U64(_)
            | Value::I64(_)
            | Value::F32(_)
            | Value::F64(_)
            | Value::Decimal(_)
    )
}

#[cfg(test)]
mod tests;
