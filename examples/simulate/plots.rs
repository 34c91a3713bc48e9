//! SVG plots of a run (`--plots DIR`), drawn with plotters from the run's
//! CSV text, so they show exactly what the CSV says and can be redrawn from
//! a saved CSV.
//!
//! Columns are found by name in the header row, never by position; a plot
//! whose columns or rows are missing is not written. What is written, each
//! file only when the CSV has what it needs:
//!
//! - `candidates_vs_f.svg`: candidates per request against f (`willing`),
//!   piggybacking on a healthy overlay (no churn, no adversaries): on the
//!   left `met_mean` (unique willing candidates in the path's tables,
//!   §3.3.3), on the right `candidates_mean` (what the sending node got
//!   with its N); one line per overlay and mode. Needs two or more values
//!   of f.
//! - `messages_to_fill_vs_f.svg`: `messages_to_fill_mean` (solid) and
//!   `extra_messages_mean` (dashed) against f, one line per mechanism, one
//!   panel per overlay and mode, on a healthy overlay. Needs two or more
//!   values of f.
//! - `load_by_mechanism.svg`: the load distribution per mechanism, as
//!   bars: `hottest_load_ratio` (the busiest peer's discovery work over the
//!   mean, log scale) and `handout_gini` (how unevenly the willing servers
//!   are handed out), one bar per overlay, on a healthy overlay, at the f
//!   nearest 10 % and in recursive mode when the run has them.
//! - `churn_and_adversaries.svg`: piggybacking under churn (`alive_share`,
//!   and `alive_share_after_feedback` after one round of feedback, against
//!   `churn`) and under adversaries (`bogus_share` against `adversaries`);
//!   one colour per overlay and mode, one line style per per-hop share
//!   (solid the first in the CSV, dashed the second). Needs two or more
//!   values of churn or of adversaries.
//!
//! The same CSV gives byte-identical files: series come in the order their
//! first row has in the CSV, colours are picked by that order, and nothing
//! depends on hashing, time or the machine (text is laid out with plotters'
//! built-in estimate, not a system font). Points that cannot be drawn are
//! left out: empty cells, f = 0, and values at or below 0 on a log axis.

use std::io;
use std::path::{Path, PathBuf};

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// The candidates plot's file name.
const CANDIDATES_FILE: &str = "candidates_vs_f.svg";
/// The messages plot's file name.
const MESSAGES_FILE: &str = "messages_to_fill_vs_f.svg";
/// The load plot's file name.
const LOAD_FILE: &str = "load_by_mechanism.svg";
/// The churn and adversaries plot's file name.
const HEALTH_FILE: &str = "churn_and_adversaries.svg";

/// Scenario columns a series is told apart by when they vary, besides the
/// ones a plot names always; `willing` is the x axis and `turn_density`
/// follows f, so neither is here.
const SETTING_COLUMNS: [&str; 9] = [
    "overlay",
    "mechanism",
    "mode",
    "nodes",
    "requests",
    "n",
    "policy",
    "per_hop_share",
    "fill_cap",
];

/// Colours by series order (Tableau 10, then two more); they repeat after
/// twelve series.
const COLOURS: [RGBColor; 12] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
    RGBColor(0, 0, 0),
    RGBColor(255, 187, 120),
];

const FONT: &str = "sans-serif";

/// Writes the plots the CSV text `csv` (a header row, then one row per
/// scenario, as `--csv` writes it) has the columns and rows for, as SVG
/// files in `dir` (created if missing; files of the same names are
/// replaced). Returns the paths written, in the order of the module's
/// list. An error when the CSV has no header row or a row with another
/// number of cells than the header, or when a file cannot be written.
pub(crate) fn write_plots(dir: &Path, csv: &str) -> io::Result<Vec<PathBuf>> {
    let table = Table::parse(csv)?;
    let plots: [(&str, Option<String>); 4] = [
        (CANDIDATES_FILE, candidates_plot(&table)?),
        (MESSAGES_FILE, messages_plot(&table)?),
        (LOAD_FILE, load_plot(&table)?),
        (HEALTH_FILE, health_plot(&table)?),
    ];
    let mut written = Vec::new();
    for (name, svg) in plots {
        if let Some(svg) = svg {
            if written.is_empty() {
                std::fs::create_dir_all(dir)?;
            }
            let path = dir.join(name);
            std::fs::write(&path, svg)?;
            written.push(path);
        }
    }
    Ok(written)
}

// ---------------------------------------------------------------- the CSV

/// The CSV: the header's names and the rows' cells, as text.
struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

type Row = [String];

impl Table {
    fn parse(csv: &str) -> io::Result<Self> {
        let mut lines = csv.lines().filter(|l| !l.trim().is_empty());
        let header = lines
            .next()
            .ok_or_else(|| invalid("the CSV is empty: no header row".to_owned()))?;
        let header = split_line(header);
        let mut rows = Vec::new();
        for (i, line) in lines.enumerate() {
            let cells = split_line(line);
            if cells.len() != header.len() {
                return Err(invalid(format!(
                    "CSV row {}: {} cells, but the header has {} columns",
                    i + 1,
                    cells.len(),
                    header.len()
                )));
            }
            rows.push(cells);
        }
        Ok(Self { header, rows })
    }

    fn column(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }

    fn has(&self, name: &str) -> bool {
        self.column(name).is_some()
    }

    /// The cell of column `name`, `None` when there is no such column.
    fn text<'a>(&self, row: &'a Row, name: &str) -> Option<&'a str> {
        self.column(name).map(|i| row[i].as_str())
    }

    /// The cell of column `name` as a finite number; `None` when there is
    /// no such column, or the cell is empty or not a number.
    fn num(&self, row: &Row, name: &str) -> Option<f64> {
        self.text(row, name)
            .and_then(|t| t.trim().parse::<f64>().ok())
            .filter(|v| v.is_finite())
    }

    /// Whether the row is of piggybacking (or the CSV has no mechanism).
    fn piggyback(&self, row: &Row) -> bool {
        self.text(row, "mechanism").is_none_or(|m| m == "piggyback")
    }

    /// Whether column `name` is 0 in the row (or absent).
    fn zero(&self, row: &Row, name: &str) -> bool {
        !self.has(name) || self.num(row, name) == Some(0.0)
    }

    /// Every peer alive and honest (§3.3.3's assumption).
    fn healthy(&self, row: &Row) -> bool {
        self.zero(row, "churn") && self.zero(row, "adversaries")
    }

    /// The distinct values of column `name` in `rows`, ascending.
    fn distinct(&self, rows: &[&Row], name: &str) -> Vec<f64> {
        let mut values: Vec<f64> = rows.iter().filter_map(|r| self.num(r, name)).collect();
        values.sort_by(f64::total_cmp);
        values.dedup();
        values
    }

    /// Groups `rows` into series, in the order of each series' first row:
    /// rows are in one series when they agree on `columns` (those the CSV
    /// has). A series' label names the columns of `always` and the others
    /// that vary among `rows`.
    fn series<'a>(
        &self,
        rows: &[&'a Row],
        always: &[&str],
        columns: &[&str],
    ) -> Vec<(String, Vec<&'a Row>)> {
        let columns: Vec<&str> = columns.iter().copied().filter(|c| self.has(c)).collect();
        let shown: Vec<&str> = columns
            .iter()
            .copied()
            .filter(|c| {
                always.contains(c) || {
                    let first = rows.first().and_then(|r| self.text(r, c));
                    rows.iter().any(|r| self.text(r, c) != first)
                }
            })
            .collect();
        let mut groups: Vec<(Vec<&str>, String, Vec<&'a Row>)> = Vec::new();
        for &row in rows {
            let key: Vec<&str> = columns
                .iter()
                .map(|c| self.text(row, c).unwrap_or(""))
                .collect();
            match groups.iter_mut().find(|(k, _, _)| *k == key) {
                Some((_, _, members)) => members.push(row),
                None => {
                    let label = shown
                        .iter()
                        .map(|c| describe(c, self.text(row, c).unwrap_or("")))
                        .collect::<Vec<_>>()
                        .join(" ");
                    groups.push((key, label, vec![row]));
                }
            }
        }
        groups
            .into_iter()
            .map(|(_, label, members)| (label, members))
            .collect()
    }

    /// The points (column `x`, column `y`) of `rows` that have both,
    /// ascending in x.
    fn points(&self, rows: &[&Row], x: &str, y: &str) -> Vec<(f64, f64)> {
        let mut points: Vec<(f64, f64)> = rows
            .iter()
            .filter_map(|r| Some((self.num(r, x)?, self.num(r, y)?)))
            .collect();
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        points
    }
}

/// One CSV line's cells; a cell may be quoted (`"a,b"`, `""` for `"`).
fn split_line(line: &str) -> Vec<String> {
    let mut cells = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut chars = line.trim_end_matches('\r').chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cell.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => cells.push(std::mem::take(&mut cell)),
            _ => cell.push(c),
        }
    }
    cells.push(cell);
    cells
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

/// How a series label shows one scenario column.
fn describe(column: &str, value: &str) -> String {
    let share = |v: &str| {
        v.parse::<f64>()
            .map_or_else(|_| v.to_owned(), format_percent)
    };
    match column {
        "overlay" | "mechanism" | "mode" | "policy" => value.to_owned(),
        "per_hop_share" => format!("share {}", share(value)),
        "willing" => format!("f {}", share(value)),
        "churn" => format!("churn {}", share(value)),
        "adversaries" => format!("adversaries {}", share(value)),
        "nodes" => format!("{value} nodes"),
        "requests" => format!("{value} requests"),
        "n" => format!("N {value}"),
        "fill_cap" => format!("cap {value}"),
        other => format!("{other} {value}"),
    }
}

// ------------------------------------------------------------- the plots

/// (a) Candidates per request against f.
fn candidates_plot(t: &Table) -> io::Result<Option<String>> {
    let rows: Vec<&Row> = t
        .rows
        .iter()
        .map(Vec::as_slice)
        .filter(|r| t.piggyback(r) && t.healthy(r) && t.num(r, "willing").unwrap_or(0.0) > 0.0)
        .collect();
    let fs = t.distinct(&rows, "willing");
    if fs.len() < 2 || !(t.has("met_mean") || t.has("candidates_mean")) {
        return Ok(None);
    }
    let series = t.series(&rows, &["overlay", "mode"], &SETTING_COLUMNS);
    let line_set = |y: &str| -> Vec<Line> {
        series
            .iter()
            .enumerate()
            .map(|(i, (label, members))| Line {
                label: label.clone(),
                colour: colour(i),
                dash: Dash::Solid,
                points: t.points(members, "willing", y),
            })
            .collect()
    };
    let met = line_set("met_mean");
    let got = line_set("candidates_mean");
    let x = Axis::f(&fs);
    let n = t.distinct(&rows, "n");
    let n_text = match n.as_slice() {
        [n] => format!("N = {}", format_number(*n)),
        _ => "its N".to_owned(),
    };
    let panels = [
        Panel {
            title: "candidates met on a path (met_mean, §3.3.3)".to_owned(),
            y: Axis::log(
                "unique willing candidates in the path's tables",
                values(&met),
            ),
            lines: met,
        },
        Panel {
            title: format!("candidates the first response brought ({n_text})"),
            y: Axis::linear("candidates received (candidates_mean)", values(&got), false),
            lines: got,
        },
    ];
    let legend: Vec<LegendEntry> = series
        .iter()
        .enumerate()
        .map(|(i, (label, _))| LegendEntry::line(label.clone(), colour(i), Dash::Solid))
        .collect();
    render_lines(
        "Candidates per request against f (piggybacking, healthy overlay)",
        &x,
        &panels,
        1,
        &legend,
    )
    .map(Some)
}

/// (b) Messages to fill N against f, per mechanism.
fn messages_plot(t: &Table) -> io::Result<Option<String>> {
    if !t.has("messages_to_fill_mean") {
        return Ok(None);
    }
    let rows: Vec<&Row> = t
        .rows
        .iter()
        .map(Vec::as_slice)
        .filter(|r| t.healthy(r) && t.num(r, "willing").unwrap_or(0.0) > 0.0)
        .collect();
    let fs = t.distinct(&rows, "willing");
    if fs.len() < 2 {
        return Ok(None);
    }
    let extra = t.has("extra_messages_mean");
    // One panel per overlay and mode; in each, one series per mechanism
    // (and whatever else varies), coloured alike in every panel.
    let panel_groups = group_by(t, &rows, &["overlay", "mode"]);
    let all_series = t.series(&rows, &["mechanism"], &SETTING_COLUMNS);
    let mut labels: Vec<String> = Vec::new();
    for (label, members) in &all_series {
        let first = members[0];
        let trimmed = strip_setting(t, label, first, &["overlay", "mode"]);
        if !labels.contains(&trimmed) {
            labels.push(trimmed);
        }
    }
    let mut panels = Vec::new();
    for (panel_label, members) in &panel_groups {
        let mut lines = Vec::new();
        for (label, series_rows) in &all_series {
            let in_panel: Vec<&Row> = series_rows
                .iter()
                .copied()
                .filter(|r| members.iter().any(|m| std::ptr::eq(*m, *r)))
                .collect();
            if in_panel.is_empty() {
                continue;
            }
            let name = strip_setting(t, label, in_panel[0], &["overlay", "mode"]);
            let i = labels.iter().position(|l| *l == name).unwrap_or(0);
            lines.push(Line {
                label: name.clone(),
                colour: colour(i),
                dash: Dash::Solid,
                points: t.points(&in_panel, "willing", "messages_to_fill_mean"),
            });
            if extra {
                lines.push(Line {
                    label: format!("{name}, extra"),
                    colour: colour(i),
                    dash: Dash::Dashed,
                    points: t.points(&in_panel, "willing", "extra_messages_mean"),
                });
            }
        }
        panels.push(Panel {
            title: panel_label.clone(),
            y: Axis::log("messages", Vec::new()),
            lines,
        });
    }
    // One y axis for every panel, so they compare at a glance.
    let all_values: Vec<f64> = panels.iter().flat_map(|p| values(&p.lines)).collect();
    let y = Axis::log("messages per node", all_values);
    for p in &mut panels {
        p.y = y.clone();
    }
    let mut legend = Vec::new();
    for (i, label) in labels.iter().enumerate() {
        legend.push(LegendEntry::line(
            format!("{label}: messages to fill N"),
            colour(i),
            Dash::Solid,
        ));
        if extra {
            // Piggybacking sends no discovery message (0): not on a log axis.
            let zero = panels.iter().all(|p| {
                p.lines
                    .iter()
                    .filter(|l| l.dash == Dash::Dashed && l.label == format!("{label}, extra"))
                    .all(|l| l.points.iter().all(|&(_, v)| v <= 0.0))
            });
            let text = if zero {
                format!("{label}: extra messages (all 0, not on the log axis)")
            } else {
                format!("{label}: extra messages (discovery only)")
            };
            legend.push(LegendEntry::line(text, colour(i), Dash::Dashed));
        }
    }
    let cols = if ordered(t, &rows, "mode").len() > 1 {
        2
    } else {
        1
    };
    render_lines(
        "Messages to fill N against f, per mechanism (healthy overlay)",
        &Axis::f(&fs),
        &panels,
        cols,
        &legend,
    )
    .map(Some)
}

/// (c) Load distribution per mechanism, as bars.
fn load_plot(t: &Table) -> io::Result<Option<String>> {
    if !t.has("hottest_load_ratio") && !t.has("handout_gini") {
        return Ok(None);
    }
    let healthy: Vec<&Row> = t
        .rows
        .iter()
        .map(Vec::as_slice)
        .filter(|r| t.healthy(r))
        .collect();
    // The f nearest the draft's 10 %, and recursive routing when there.
    let f = t
        .distinct(&healthy, "willing")
        .into_iter()
        .min_by(|a, b| (a - 0.1).abs().total_cmp(&(b - 0.1).abs()));
    let mode = if healthy
        .iter()
        .any(|r| t.text(r, "mode") == Some("recursive"))
    {
        Some("recursive")
    } else {
        healthy.first().and_then(|r| t.text(r, "mode"))
    };
    let rows: Vec<&Row> = healthy
        .iter()
        .copied()
        .filter(|r| f.is_none_or(|f| t.num(r, "willing") == Some(f)))
        .filter(|r| mode.is_none_or(|m| t.text(r, "mode") == Some(m)))
        .collect();
    if rows.is_empty() {
        return Ok(None);
    }
    // Categories: mechanisms; bars: overlays; the first row of each pair.
    let mechanisms = ordered(t, &rows, "mechanism");
    let overlays = ordered(t, &rows, "overlay");
    let pick = |m: &str, o: &str| {
        rows.iter().copied().find(|r| {
            t.text(r, "mechanism").unwrap_or("") == m && t.text(r, "overlay").unwrap_or("") == o
        })
    };
    let bars = |column: &str| -> Vec<Vec<Option<f64>>> {
        mechanisms
            .iter()
            .map(|m| {
                overlays
                    .iter()
                    .map(|o| pick(m, o).and_then(|r| t.num(r, column)))
                    .collect()
            })
            .collect()
    };
    let mut setting = Vec::new();
    if let Some(f) = f {
        setting.push(format!("f = {}", format_percent(f)));
    }
    if let Some(m) = mode {
        setting.push(format!("{m} routing"));
    }
    if let [nodes] = t.distinct(&rows, "nodes").as_slice() {
        setting.push(format!("{} nodes", format_number(*nodes)));
    }
    let mut panels = Vec::new();
    if t.has("hottest_load_ratio") {
        let b = bars("hottest_load_ratio");
        let y = Axis::log(
            "busiest peer over the mean (log)",
            b.iter().flatten().flatten().copied().collect(),
        );
        panels.push(BarPanel {
            title: "hottest peer's discovery load over the mean (hottest_load_ratio)".to_owned(),
            y,
            bars: b,
            suffix: "×",
        });
    }
    if t.has("handout_gini") {
        let b = bars("handout_gini");
        let y = Axis::fixed(
            "Gini coefficient",
            0.0,
            1.0,
            vec![0.0, 0.25, 0.5, 0.75, 1.0],
        );
        panels.push(BarPanel {
            title: "hand-outs across the willing servers (handout_gini: 0 even, 1 one server)"
                .to_owned(),
            y,
            bars: b,
            suffix: "",
        });
    }
    let legend: Vec<LegendEntry> = overlays
        .iter()
        .enumerate()
        .map(|(i, o)| LegendEntry::bar(o.clone(), colour(i)))
        .collect();
    let title = format!(
        "Load distribution per mechanism ({}, healthy overlay)",
        setting.join(", ")
    );
    render_bars(&title, &mechanisms, &panels, &legend).map(Some)
}

/// (d) Piggybacking under churn and under adversaries.
fn health_plot(t: &Table) -> io::Result<Option<String>> {
    let rows: Vec<&Row> = t
        .rows
        .iter()
        .map(Vec::as_slice)
        .filter(|r| t.piggyback(r))
        .collect();
    let churned: Vec<&Row> = rows
        .iter()
        .copied()
        .filter(|r| t.zero(r, "adversaries") && t.num(r, "churn").is_some())
        .collect();
    let attacked: Vec<&Row> = rows
        .iter()
        .copied()
        .filter(|r| t.zero(r, "churn") && t.num(r, "adversaries").is_some())
        .collect();
    let churns = t.distinct(&churned, "churn");
    let adversaries = t.distinct(&attacked, "adversaries");
    let show_churn = churns.len() >= 2 && t.has("alive_share");
    let show_adv = adversaries.len() >= 2 && t.has("bogus_share");
    if !show_churn && !show_adv {
        return Ok(None);
    }
    // Colour by overlay and mode (and whatever else varies but the
    // per-hop share), the same in every panel; line style by per-hop share:
    // the first in the CSV solid, the second dashed, the others dotted.
    let both: Vec<&Row> = churned.iter().chain(&attacked).copied().collect();
    let columns: Vec<&str> = SETTING_COLUMNS
        .iter()
        .copied()
        .filter(|&c| c != "per_hop_share")
        .chain(["willing"])
        .collect();
    let labels: Vec<String> = t
        .series(&both, &["overlay", "mode"], &columns)
        .into_iter()
        .map(|(l, _)| l)
        .collect();
    let shares = ordered(t, &both, "per_hop_share");
    let lines_of = |rows: &[&Row], x: &str, y: &str| -> Vec<Line> {
        let mut lines = Vec::new();
        for (label, members) in t.series(rows, &["overlay", "mode"], &columns) {
            let c = colour(labels.iter().position(|l| *l == label).unwrap_or(0));
            for (k, share) in shares.iter().enumerate() {
                let of_share: Vec<&Row> = members
                    .iter()
                    .copied()
                    .filter(|r| t.text(r, "per_hop_share").unwrap_or("") == share)
                    .collect();
                if !of_share.is_empty() {
                    lines.push(Line {
                        label: label.clone(),
                        colour: c,
                        dash: Dash::of(k),
                        points: t.points(&of_share, x, y),
                    });
                }
            }
        }
        lines
    };
    let mut charts = Vec::new();
    if show_churn {
        let x = Axis::shares("churn: share of peers dead", &churns);
        charts.push((
            x.clone(),
            Panel {
                title: "handed-out candidates alive (alive_share)".to_owned(),
                y: Axis::fixed("alive_share", 0.0, 1.0, shares_ticks()),
                lines: lines_of(&churned, "churn", "alive_share"),
            },
        ));
        if t.has("alive_share_after_feedback") {
            charts.push((
                x,
                Panel {
                    title: "alive after one round of feedback (alive_share_after_feedback)"
                        .to_owned(),
                    y: Axis::fixed("alive_share_after_feedback", 0.0, 1.0, shares_ticks()),
                    lines: lines_of(&churned, "churn", "alive_share_after_feedback"),
                },
            ));
        }
    }
    if show_adv {
        charts.push((
            Axis::shares("adversaries: share of peers adversarial", &adversaries),
            Panel {
                title: "handed-out candidates bogus (bogus_share)".to_owned(),
                y: Axis::fixed("bogus_share", 0.0, 1.0, shares_ticks()),
                lines: lines_of(&attacked, "adversaries", "bogus_share"),
            },
        ));
    }
    let mut legend: Vec<LegendEntry> = labels
        .iter()
        .enumerate()
        .map(|(i, l)| LegendEntry::line(l.clone(), colour(i), Dash::Solid))
        .collect();
    if t.has("per_hop_share") {
        for (k, share) in shares.iter().enumerate() {
            legend.push(LegendEntry::line(
                describe("per_hop_share", share),
                RGBColor(90, 90, 90),
                Dash::of(k),
            ));
        }
    }
    let title = match (show_churn, show_adv) {
        (true, true) => "Piggybacking under churn and under adversaries",
        (true, false) => "Piggybacking under churn",
        _ => "Piggybacking under adversaries",
    };
    render_mixed(
        &format!("{title} (per-hop share 100% = no share)"),
        &charts,
        &legend,
    )
    .map(Some)
}

/// `rows` grouped by the columns `by` (those the CSV has), in the order of
/// each group's first row, with the group's label.
fn group_by<'a>(t: &Table, rows: &[&'a Row], by: &[&str]) -> Vec<(String, Vec<&'a Row>)> {
    let mut groups: Vec<(String, Vec<&'a Row>)> = Vec::new();
    for &row in rows {
        let label = by
            .iter()
            .filter_map(|c| t.text(row, c))
            .collect::<Vec<_>>()
            .join(" ");
        match groups.iter_mut().find(|(l, _)| *l == label) {
            Some((_, members)) => members.push(row),
            None => groups.push((label, vec![row])),
        }
    }
    groups
}

/// The distinct texts of column `name` in `rows`, in order of appearance
/// (one empty text when the CSV has no such column).
fn ordered(t: &Table, rows: &[&Row], name: &str) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for r in rows {
        let v = t.text(r, name).unwrap_or("").to_owned();
        if !seen.contains(&v) {
            seen.push(v);
        }
    }
    seen
}

/// A series label without the parts naming `columns` (shown elsewhere).
fn strip_setting(t: &Table, label: &str, row: &Row, columns: &[&str]) -> String {
    let mut parts: Vec<String> = label.split(' ').map(str::to_owned).collect();
    for c in columns {
        if let Some(v) = t.text(row, c) {
            if let Some(i) = parts.iter().position(|p| p == v) {
                parts.remove(i);
            }
        }
    }
    parts.join(" ")
}

fn colour(i: usize) -> RGBColor {
    COLOURS[i % COLOURS.len()]
}

fn values(lines: &[Line]) -> Vec<f64> {
    lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.1))
        .collect()
}

fn shares_ticks() -> Vec<f64> {
    vec![0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
}

// ------------------------------------------------------------ the drawing

/// One axis: its range, ticks and labels, linear or logarithmic (drawn on
/// a linear axis of log10 values, with ticks chosen here).
#[derive(Debug, Clone)]
struct Axis {
    label: String,
    log: bool,
    percent: bool,
    lo: f64,
    hi: f64,
    ticks: Vec<f64>,
}

impl Axis {
    /// f, logarithmic, a tick at each value swept.
    fn f(fs: &[f64]) -> Self {
        let positive: Vec<f64> = fs.iter().copied().filter(|&v| v > 0.0).collect();
        let (lo, hi) = match (positive.first(), positive.last()) {
            (Some(&lo), Some(&hi)) => (lo / 1.25, hi * 1.25),
            _ => (0.001, 1.0),
        };
        Self {
            label: "f, the share of peers willing (log)".to_owned(),
            log: true,
            percent: true,
            lo,
            hi,
            ticks: positive,
        }
    }

    /// Shares from 0 to the largest swept, a tick at each value swept.
    fn shares(label: &str, values: &[f64]) -> Self {
        let hi = values.iter().copied().fold(0.0_f64, f64::max);
        Self {
            label: label.to_owned(),
            log: false,
            percent: true,
            lo: 0.0,
            hi: if hi > 0.0 { hi * 1.05 } else { 1.0 },
            ticks: values.to_vec(),
        }
    }

    /// Logarithmic, from the 1-2-5 value below the smallest positive of
    /// `values` to the one above the largest, with a little margin so no
    /// value sits on the axis' ends; ticks at 1, 2 and 5 × 10^k over three
    /// decades or less, at 10^k over more (at most twelve decades).
    fn log(label: &str, values: Vec<f64>) -> Self {
        let positive: Vec<f64> = values.into_iter().filter(|&v| v > 0.0).collect();
        let (lo, hi) = if positive.is_empty() {
            (1.0, 10.0)
        } else {
            let min = positive.iter().copied().fold(f64::INFINITY, f64::min);
            let max = positive.iter().copied().fold(0.0_f64, f64::max);
            let lo = one_two_five(min / 1.1, false);
            (lo, one_two_five(max * 1.1, true).clamp(lo * 2.0, lo * 1e12))
        };
        let decades = (hi / lo).log10();
        let steps: &[f64] = if decades <= 3.0 {
            &[1.0, 2.0, 5.0]
        } else {
            &[1.0]
        };
        let mut ticks = Vec::new();
        let first = lo.log10().floor() as i32;
        let last = hi.log10().ceil() as i32;
        for e in first..=last {
            for s in steps {
                let v = s * 10f64.powi(e);
                if v >= lo / 1.000_001 && v <= hi * 1.000_001 {
                    ticks.push(v);
                }
            }
        }
        Self {
            label: label.to_owned(),
            log: true,
            percent: false,
            lo,
            hi,
            ticks,
        }
    }

    /// Linear from 0 (or the minimum when below 0) to a little above the
    /// maximum, with round ticks.
    fn linear(label: &str, values: Vec<f64>, percent: bool) -> Self {
        let min = values.iter().copied().fold(0.0_f64, f64::min);
        let max = values.iter().copied().fold(0.0_f64, f64::max);
        let lo = min;
        let hi = if max > lo {
            lo + (max - lo) * 1.1
        } else {
            lo + 1.0
        };
        let raw = (hi - lo) / 5.0;
        let magnitude = 10f64.powf(raw.log10().floor());
        let step = [1.0, 2.0, 2.5, 5.0, 10.0]
            .iter()
            .map(|s| s * magnitude)
            .find(|&s| s >= raw)
            .unwrap_or(10.0 * magnitude);
        let first = (lo / step).ceil() as i64;
        let last = (hi / step).floor() as i64;
        let ticks = (first..=last).map(|k| k as f64 * step).collect();
        Self {
            label: label.to_owned(),
            log: false,
            percent,
            lo,
            hi,
            ticks,
        }
    }

    /// Linear over `lo..hi` with the given ticks.
    fn fixed(label: &str, lo: f64, hi: f64, ticks: Vec<f64>) -> Self {
        Self {
            label: label.to_owned(),
            log: false,
            percent: false,
            lo,
            hi,
            ticks,
        }
    }

    /// A value in the axis' drawing coordinate; `None` when it cannot be
    /// drawn (at or below 0 on a log axis).
    fn map(&self, v: f64) -> Option<f64> {
        if self.log {
            (v > 0.0).then(|| v.log10())
        } else {
            Some(v)
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        let lo = self.map(self.lo).unwrap_or(0.0);
        let hi = self.map(self.hi).unwrap_or(1.0);
        if hi > lo {
            lo..hi
        } else {
            lo..lo + 1.0
        }
    }

    /// The axis as plotters draws it: its range and ticks in drawing
    /// coordinates.
    fn scale(&self) -> Scale {
        Scale {
            range: self.range(),
            ticks: self.ticks.iter().filter_map(|&v| self.map(v)).collect(),
        }
    }

    /// The label of a drawing coordinate.
    fn format(&self, c: f64) -> String {
        let v = if self.log { 10f64.powf(c) } else { c };
        if self.percent {
            format_percent(v)
        } else {
            format_number(v)
        }
    }

    /// The drawing coordinate of `v` clamped into the axis.
    fn clamp(&self, v: f64) -> Option<f64> {
        let r = self.range();
        self.map(v).map(|c| c.clamp(r.start, r.end))
    }
}

/// A linear coordinate with the ticks given (plotters' own `f64` ranges
/// pick their ticks themselves, and its `with_key_points` loses the label
/// formatter).
struct Scale {
    range: std::ops::Range<f64>,
    ticks: Vec<f64>,
}

impl Ranged for Scale {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    /// As plotters maps its own `f64` ranges.
    fn map(&self, v: &f64, limit: (i32, i32)) -> i32 {
        let (lo, hi) = (self.range.start, self.range.end);
        let actual = limit.1 - limit.0;
        if hi == lo || actual == 0 {
            return limit.0 + actual / 2;
        }
        let logical = (v - lo) / (hi - lo);
        if !logical.is_finite() {
            return if logical > 0.0 { limit.1 } else { limit.0 };
        }
        if actual > 0 {
            limit.0 + (f64::from(actual) * logical + 1e-3).floor() as i32
        } else {
            limit.0 + (f64::from(actual) * logical - 1e-3).ceil() as i32
        }
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.range.clone()
    }
}

/// The largest 1, 2 or 5 × 10^k at or below `v` (`up`: the smallest at or
/// above); `v` > 0.
fn one_two_five(v: f64, up: bool) -> f64 {
    let e = v.log10().floor() as i32;
    let candidates = [-1, 0, 1]
        .iter()
        .flat_map(|d| [1.0, 2.0, 5.0].map(|s| s * 10f64.powi(e + d)));
    if up {
        candidates.filter(|&c| c >= v).fold(f64::INFINITY, f64::min)
    } else {
        candidates.filter(|&c| c <= v).fold(0.0_f64, f64::max)
    }
}

/// A number short: at most three significant decimals, `k` and `M` for
/// thousands and millions.
fn format_number(v: f64) -> String {
    let (scaled, unit) = if v.abs() >= 1e6 {
        (v / 1e6, "M")
    } else if v.abs() >= 1e4 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    let decimals = if scaled.abs() >= 100.0 {
        0
    } else if scaled.abs() >= 10.0 {
        1
    } else if scaled.abs() >= 1.0 {
        2
    } else {
        3
    };
    format!("{}{unit}", trim_zeros(format!("{scaled:.decimals$}")))
}

/// A share as a percentage: `0.005` is `0.5%`.
fn format_percent(v: f64) -> String {
    format!("{}%", trim_zeros(format!("{:.2}", v * 100.0)))
}

fn trim_zeros(s: String) -> String {
    if s.contains('.') {
        let t = s.trim_end_matches('0').trim_end_matches('.');
        if t == "-0" {
            "0".to_owned()
        } else {
            t.to_owned()
        }
    } else {
        s
    }
}

/// How a line is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dash {
    Solid,
    Dashed,
    Dotted,
}

impl Dash {
    /// The `k`-th style: solid, dashed, then dotted.
    fn of(k: usize) -> Self {
        match k {
            0 => Self::Solid,
            1 => Self::Dashed,
            _ => Self::Dotted,
        }
    }
}

/// One line of a line chart.
struct Line {
    label: String,
    colour: RGBColor,
    dash: Dash,
    points: Vec<(f64, f64)>,
}

/// One panel of a line chart: its title, y axis and lines.
struct Panel {
    title: String,
    y: Axis,
    lines: Vec<Line>,
}

/// One panel of a bar chart: one group of bars per category, one bar per
/// legend entry; `None` for a bar not in the CSV.
struct BarPanel {
    title: String,
    y: Axis,
    bars: Vec<Vec<Option<f64>>>,
    suffix: &'static str,
}

/// An entry of a figure's legend.
struct LegendEntry {
    label: String,
    colour: RGBColor,
    dash: Dash,
    bar: bool,
}

impl LegendEntry {
    fn line(label: String, colour: RGBColor, dash: Dash) -> Self {
        Self {
            label,
            colour,
            dash,
            bar: false,
        }
    }

    fn bar(label: String, colour: RGBColor) -> Self {
        Self {
            label,
            colour,
            dash: Dash::Solid,
            bar: true,
        }
    }
}

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

fn draw_error<E: std::error::Error + Send + Sync>(e: DrawingAreaErrorKind<E>) -> io::Error {
    io::Error::other(format!("drawing a plot: {e}"))
}

const PANEL_WIDTH: u32 = 560;
const PANEL_HEIGHT: u32 = 380;
/// Wide enough for a figure's title.
const MIN_WIDTH: u32 = 900;
const TITLE_HEIGHT: u32 = 40;
const LEGEND_ROW: u32 = 20;
const LEGEND_COLUMN: u32 = 370;

/// Draws a figure: a title, `panels` panels in `cols` columns drawn by
/// `draw`, and the legend below them; returns the SVG text.
fn figure(
    title: &str,
    panels: usize,
    cols: usize,
    legend: &[LegendEntry],
    draw: impl FnOnce(&[Area<'_>]) -> io::Result<()>,
) -> io::Result<String> {
    let cols = cols.clamp(1, panels.max(1));
    let rows = panels.div_ceil(cols).max(1);
    let width = (PANEL_WIDTH * cols as u32).max(MIN_WIDTH);
    let per_row = (width / LEGEND_COLUMN).max(1) as usize;
    let legend_rows = legend.len().div_ceil(per_row) as u32;
    let legend_height = legend_rows * LEGEND_ROW + 16;
    let height = TITLE_HEIGHT + PANEL_HEIGHT * rows as u32 + legend_height;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_error)?;
        let body = root
            .titled(title, (FONT, 20).into_font().color(&BLACK))
            .map_err(draw_error)?;
        let (plots, key) = body.split_vertically(PANEL_HEIGHT * rows as u32);
        let areas = plots.split_evenly((rows, cols));
        draw(&areas[..panels.min(areas.len())])?;
        draw_legend(&key, legend, per_row)?;
        root.present().map_err(draw_error)?;
    }
    Ok(svg)
}

fn draw_legend(area: &Area<'_>, legend: &[LegendEntry], per_row: usize) -> io::Result<()> {
    let text = (FONT, 13).into_font().color(&BLACK);
    for (k, entry) in legend.iter().enumerate() {
        let x = 20 + (k % per_row) as i32 * LEGEND_COLUMN as i32;
        let y = 10 + (k / per_row) as i32 * LEGEND_ROW as i32 + LEGEND_ROW as i32 / 2;
        let style = entry.colour.stroke_width(2);
        if entry.bar {
            area.draw(&Rectangle::new(
                [(x, y - 6), (x + 24, y + 6)],
                entry.colour.filled(),
            ))
            .map_err(draw_error)?;
        } else if entry.dash != Dash::Solid {
            let (starts, length): (&[i32], i32) = if entry.dash == Dash::Dashed {
                (&[0, 10, 20], 6)
            } else {
                (&[0, 5, 10, 15, 20], 2)
            };
            for &s in starts {
                area.draw(&PathElement::new(
                    vec![(x + s, y), (x + s + length, y)],
                    style,
                ))
                .map_err(draw_error)?;
            }
        } else {
            area.draw(&PathElement::new(vec![(x, y), (x + 24, y)], style))
                .map_err(draw_error)?;
            area.draw(&Circle::new((x + 12, y), 3, entry.colour.filled()))
                .map_err(draw_error)?;
        }
        area.draw(&Text::new(
            entry.label.clone(),
            (x + 32, y),
            text.pos(Pos::new(HPos::Left, VPos::Center)),
        ))
        .map_err(draw_error)?;
    }
    Ok(())
}

/// Draws one line panel on `area` against the x axis `x`.
fn line_panel(area: &Area<'_>, x: &Axis, panel: &Panel) -> io::Result<()> {
    let y = &panel.y;
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, (FONT, 14))
        .margin(12)
        .x_label_area_size(42)
        .y_label_area_size(58)
        .build_cartesian_2d(x.scale(), y.scale())
        .map_err(draw_error)?;
    let x_format = |c: &f64| x.format(*c);
    let y_format = |c: &f64| y.format(*c);
    chart
        .configure_mesh()
        .x_desc(x.label.as_str())
        .y_desc(y.label.as_str())
        .x_label_formatter(&x_format)
        .y_label_formatter(&y_format)
        .bold_line_style(RGBColor(225, 225, 225))
        .axis_desc_style((FONT, 13))
        .label_style((FONT, 12))
        .draw()
        .map_err(draw_error)?;
    for line in &panel.lines {
        let points: Vec<(f64, f64)> = line
            .points
            .iter()
            .filter_map(|&(px, py)| Some((x.map(px)?, y.map(py)?)))
            .collect();
        let style = line.colour.stroke_width(2);
        match line.dash {
            Dash::Solid => chart.draw_series(LineSeries::new(points.clone(), style)),
            Dash::Dashed => chart.draw_series(DashedLineSeries::new(points.clone(), 6, 4, style)),
            Dash::Dotted => chart.draw_series(DashedLineSeries::new(points.clone(), 2, 3, style)),
        }
        .map_err(draw_error)?;
        // Markers: filled on solid lines, hollow on the others.
        let marker = if line.dash == Dash::Solid {
            line.colour.filled()
        } else {
            line.colour.stroke_width(1)
        };
        chart
            .draw_series(points.iter().map(|&p| Circle::new(p, 3, marker)))
            .map_err(draw_error)?;
    }
    Ok(())
}

fn render_lines(
    title: &str,
    x: &Axis,
    panels: &[Panel],
    cols: usize,
    legend: &[LegendEntry],
) -> io::Result<String> {
    let cols = if cols == 1 && panels.len() == 2 {
        2
    } else {
        cols
    };
    figure(title, panels.len(), cols, legend, |areas| {
        for (area, panel) in areas.iter().zip(panels) {
            line_panel(area, x, panel)?;
        }
        Ok(())
    })
}

/// Line panels with an x axis each.
fn render_mixed(
    title: &str,
    charts: &[(Axis, Panel)],
    legend: &[LegendEntry],
) -> io::Result<String> {
    figure(title, charts.len(), charts.len(), legend, |areas| {
        for (area, (x, panel)) in areas.iter().zip(charts) {
            line_panel(area, x, panel)?;
        }
        Ok(())
    })
}

fn render_bars(
    title: &str,
    categories: &[String],
    panels: &[BarPanel],
    legend: &[LegendEntry],
) -> io::Result<String> {
    figure(title, panels.len(), 1, legend, |areas| {
        for (area, panel) in areas.iter().zip(panels) {
            bar_panel(area, categories, panel)?;
        }
        Ok(())
    })
}

/// Draws one bar panel: a group of bars per category, each labelled with
/// its value.
fn bar_panel(area: &Area<'_>, categories: &[String], panel: &BarPanel) -> io::Result<()> {
    let y = &panel.y;
    let k = categories.len().max(1);
    let x_range = -0.5..(k as f64 - 0.5);
    let centres: Vec<f64> = (0..k).map(|i| i as f64).collect();
    let x_format = |c: &f64| {
        let i = c.round();
        if (c - i).abs() < 1e-6 && i >= 0.0 {
            categories.get(i as usize).cloned().unwrap_or_default()
        } else {
            String::new()
        }
    };
    let y_format = |c: &f64| y.format(*c);
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, (FONT, 14))
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(58)
        .build_cartesian_2d(
            Scale {
                range: x_range,
                ticks: centres,
            },
            y.scale(),
        )
        .map_err(draw_error)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .y_desc(y.label.as_str())
        .x_label_formatter(&x_format)
        .y_label_formatter(&y_format)
        .bold_line_style(RGBColor(225, 225, 225))
        .axis_desc_style((FONT, 13))
        .label_style((FONT, 12))
        .draw()
        .map_err(draw_error)?;
    let bottom = y.range().start;
    let value_style = (FONT, 11)
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(HPos::Center, VPos::Bottom));
    for (i, group) in panel.bars.iter().enumerate() {
        let m = group.len().max(1) as f64;
        let width = 0.8 / m;
        for (j, value) in group.iter().enumerate() {
            let Some(v) = *value else { continue };
            let Some(top) = y.clamp(v) else { continue };
            let left = i as f64 - 0.4 + j as f64 * width;
            let right = left + width * 0.92;
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(left, bottom), (right, top)],
                    colour(j).filled(),
                )))
                .map_err(draw_error)?;
            chart
                .draw_series(std::iter::once(Text::new(
                    format!("{}{}", format_number(v), panel.suffix),
                    ((left + right) / 2.0, top),
                    value_style.clone(),
                )))
                .map_err(draw_error)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small run: piggybacking on two overlays and both modes at three
    /// f, the baselines on one, churn and adversaries sweeps; columns in
    /// an order of their own, one the simulator does not write.
    const CSV: &str = "\
mode,overlay,mechanism,willing,n,per_hop_share,churn,adversaries,met_mean,candidates_mean,\
messages_to_fill_mean,extra_messages_mean,hottest_load_ratio,handout_gini,alive_share,\
alive_share_after_feedback,bogus_share,unrelated
recursive,pastry,piggyback,0.02,10,0.5,0,0,7.0,6.7,1.96,0,64.5,0.33,1,1,0,x
recursive,pastry,piggyback,0.1,10,0.5,0,0,34.9,10.0,1.0,0,63.4,0.52,1,1,0,x
recursive,pastry,piggyback,0.33,10,0.5,0,0,110.2,10.0,1.0,0,60.1,0.71,1,1,0,x
iterative,pastry,piggyback,0.02,10,0.5,0,0,6.9,6.8,1.97,0,54.9,0.26,1,1,0,x
iterative,pastry,piggyback,0.1,10,0.5,0,0,34.9,10.6,1.0,0,137.1,0.53,1,1,0,x
iterative,pastry,piggyback,0.33,10,0.5,0,0,111.0,12.0,1.0,0,120.0,0.70,1,1,0,x
recursive,chord,piggyback,0.02,10,0.5,0,0,4.6,4.6,2.77,0,29.9,0.45,1,1,0,x
recursive,chord,piggyback,0.1,10,0.5,0,0,23.4,9.97,1.01,0,45.5,0.60,1,1,0,x
recursive,chord,piggyback,0.33,10,0.5,0,0,75.0,10.0,1.0,0,40.0,0.75,1,1,0,x
recursive,pastry,single-key,0.02,10,0.5,0,0,,10,1,1,214615.3,0.25,1,1,0,x
recursive,pastry,single-key,0.1,10,0.5,0,0,,10,1,1,215201.9,0.52,1,1,0,x
recursive,pastry,turn-density,0.02,10,0.5,0,0,,1,24.25,2.42,17.4,0.25,1,1,0,x
recursive,pastry,turn-density,0.1,10,0.5,0,0,,1,24.22,2.43,14.8,0.53,1,1,0,x
recursive,pastry,redir,0.02,10,0.5,0,0,,10,2.18,2.18,1276.2,0.30,1,1,0,x
recursive,pastry,redir,0.1,10,0.5,0,0,,10,2.88,2.88,917.3,0.54,1,1,0,x
recursive,pastry,piggyback,0.1,10,0.5,0.3,0,33.0,9.9,1.1,0,60.0,0.5,0.7,0.95,0,x
recursive,pastry,piggyback,0.1,10,0.5,0.5,0,30.0,9.5,1.3,0,58.0,0.5,0.5,0.85,0,x
recursive,pastry,piggyback,0.1,10,1,0.3,0,33.0,9.9,1.1,0,60.0,0.5,0.68,0.97,0,x
recursive,pastry,piggyback,0.1,10,1,0.5,0,30.0,9.5,1.3,0,58.0,0.5,0.49,0.9,0,x
recursive,pastry,piggyback,0.1,10,0.5,0,0.2,28.4,10,1,0,60,0.5,0.85,0.93,0.15,x
recursive,pastry,piggyback,0.1,10,0.5,0,0.4,21.4,10,1,0,60,0.5,0.66,0.74,0.34,x
recursive,pastry,piggyback,0.1,10,1,0,0.2,28.2,10,1,0,60,0.5,0.76,1,0.24,x
recursive,pastry,piggyback,0.1,10,1,0,0.4,21.5,10,1,0,60,0.5,0.54,1,0.46,x
";

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("simulate-plots-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn well_formed(svg: &str) {
        assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(80)]);
        assert!(svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<svg").count(), 1);
        // Every opened element is closed (tags nest as plotters writes them).
        let opened = svg.matches("<g").count() - svg.matches("<g/>").count();
        assert_eq!(opened, svg.matches("</g>").count());
        assert!(
            !svg.contains("NaN") && !svg.contains("inf"),
            "non-finite coordinate"
        );
    }

    #[test]
    fn writes_the_four_plots_well_formed() {
        let dir = scratch("four");
        let written = write_plots(&dir, CSV).unwrap();
        let names: Vec<String> = written
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            [CANDIDATES_FILE, MESSAGES_FILE, LOAD_FILE, HEALTH_FILE]
        );
        for path in &written {
            assert_eq!(path.parent(), Some(dir.as_path()));
            let svg = std::fs::read_to_string(path).unwrap();
            well_formed(&svg);
            assert!(svg.len() > 2000, "{}: {} bytes", path.display(), svg.len());
        }
        let candidates = std::fs::read_to_string(&written[0]).unwrap();
        for label in [
            "pastry recursive",
            "pastry iterative",
            "chord recursive",
            "10%",
        ] {
            assert!(candidates.contains(label), "{label}");
        }
        let load = std::fs::read_to_string(&written[2]).unwrap();
        for label in ["single-key", "turn-density", "redir", "piggyback", "215k×"] {
            assert!(load.contains(label), "{label}");
        }
        let health = std::fs::read_to_string(&written[3]).unwrap();
        assert!(health.contains("share 100%") && health.contains("share 50%"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn same_csv_same_bytes() {
        let (a, b) = (scratch("a"), scratch("b"));
        let first = write_plots(&a, CSV).unwrap();
        let second = write_plots(&b, CSV).unwrap();
        assert_eq!(first.len(), second.len());
        for (x, y) in first.iter().zip(&second) {
            assert_eq!(std::fs::read(x).unwrap(), std::fs::read(y).unwrap());
        }
        // Written again over the same files: the same bytes.
        let again = write_plots(&a, CSV).unwrap();
        for (x, y) in again.iter().zip(&second) {
            assert_eq!(std::fs::read(x).unwrap(), std::fs::read(y).unwrap());
        }
        std::fs::remove_dir_all(&a).unwrap();
        std::fs::remove_dir_all(&b).unwrap();
    }

    #[test]
    fn columns_are_found_by_name_not_position() {
        // The same table with its columns in reverse order.
        let reversed: String = CSV
            .lines()
            .map(|l| {
                let mut cells = split_line(l);
                cells.reverse();
                cells.join(",") + "\n"
            })
            .collect();
        let (a, b) = (scratch("order-a"), scratch("order-b"));
        let first = write_plots(&a, CSV).unwrap();
        let second = write_plots(&b, &reversed).unwrap();
        assert_eq!(first.len(), 4);
        for (x, y) in first.iter().zip(&second) {
            assert_eq!(std::fs::read(x).unwrap(), std::fs::read(y).unwrap());
        }
        std::fs::remove_dir_all(&a).unwrap();
        std::fs::remove_dir_all(&b).unwrap();
    }

    #[test]
    fn only_the_plots_the_rows_support() {
        // One f, no churn or adversary sweep, piggybacking only: the load
        // plot alone.
        let one_f = "overlay,mechanism,mode,willing,met_mean,candidates_mean,\
messages_to_fill_mean,hottest_load_ratio,handout_gini\n\
pastry,piggyback,recursive,0.1,34.9,10,1,63.4,0.52\n";
        let dir = scratch("one-f");
        let written = write_plots(&dir, one_f).unwrap();
        assert_eq!(written, [dir.join(LOAD_FILE)]);
        well_formed(&std::fs::read_to_string(&written[0]).unwrap());
        std::fs::remove_dir_all(&dir).unwrap();
        // A header only: nothing, and no directory made.
        let dir = scratch("header-only");
        assert!(write_plots(&dir, "overlay,willing\n").unwrap().is_empty());
        assert!(!dir.exists());
    }

    #[test]
    fn a_bad_csv_is_an_error() {
        let dir = scratch("bad");
        let e = write_plots(&dir, "").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        let e = write_plots(&dir, "a,b\n1,2,3\n").unwrap_err();
        assert!(e.to_string().contains("3 cells"), "{e}");
        assert!(!dir.exists());
    }

    #[test]
    fn numbers_and_axes() {
        assert_eq!(format_percent(0.005), "0.5%");
        assert_eq!(format_percent(0.33), "33%");
        assert_eq!(format_number(215_201.9), "215k");
        assert_eq!(format_number(2_500_000.0), "2.5M");
        assert_eq!(format_number(0.25), "0.25");
        assert_eq!(format_number(34.9), "34.9");
        let log = Axis::log("y", vec![1.2, 350.0, 0.0]);
        assert_eq!((log.lo, log.hi), (1.0, 500.0));
        assert_eq!(
            log.ticks,
            [1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0]
        );
        let wide = Axis::log("y", vec![14.8, 282_901.4]);
        assert_eq!((wide.lo, wide.hi), (10.0, 500_000.0));
        assert_eq!(wide.ticks, [10.0, 100.0, 1000.0, 10_000.0, 100_000.0]);
        assert_eq!(Axis::log("y", vec![1.0]).lo, 0.5);
        let lin = Axis::linear("y", vec![0.0, 10.6], false);
        assert_eq!(lin.ticks, [0.0, 2.5, 5.0, 7.5, 10.0]);
        assert_eq!(split_line("a,\"b,c\",\"d\"\"\""), ["a", "b,c", "d\""]);
    }
}
