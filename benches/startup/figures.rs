//! Every figure the tables print, formatted and recorded in one call, so that `--json FILE` can
//! write what was printed without a second path through the measurements that could drift from
//! the tables.
//!
//! A table printer asks [`table`] for its handle and formats each cell with [`Table::figure`]:
//! the text is what the table shows (median, then min–max over the runs), and the figure with
//! every run's value goes to a process-wide list that `main` writes out at the end.

use std::sync::Mutex;

use serde::Serialize;

/// One printed figure and the runs it summarises.
#[derive(Debug, Serialize)]
pub struct Figure {
    /// The table, a short stable name ("startup", "replacement", "store", "config", "api",
    /// "fib", "ingest").
    pub table: String,
    /// The row as printed (a scenario, receiver, event or kind of state, with N where the rows
    /// differ by it).
    pub row: String,
    /// The column header as printed, or what the figure is on a detail line.
    pub column: String,
    /// The unit of the values ("s", "MiB", "routes/s", …; "ratio" for baton's ratios).
    pub unit: String,
    /// Median, least and greatest over the runs, as the table prints them; `null` when a run
    /// was not measured or missed its deadline (the table's "-" or "timeout").
    pub median: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// Each run's value, `null` where nothing was measured. Empty for a figure computed from
    /// other figures' medians (the ratios).
    pub runs: Vec<Option<f64>>,
}

/// A list of figures; [`RECORDED`] is the one the tables write to.
#[derive(Default)]
pub struct Recorder(Mutex<Vec<Figure>>);

/// Everything the tables printed in this process.
static RECORDED: Recorder = Recorder(Mutex::new(Vec::new()));

/// The handle a printer formats its cells with, recording to [`RECORDED`].
pub fn table(name: &'static str) -> Table<'static> {
    RECORDED.table(name)
}

/// The `--json` document: the machine, the options, and the figures recorded so far by the
/// tables (taken), in that order.
pub fn document(machine: &impl Serialize, options: &impl Serialize) -> String {
    #[derive(Serialize)]
    struct Document<'a, M, O> {
        machine: &'a M,
        options: &'a O,
        figures: Vec<Figure>,
    }
    let figures = RECORDED.take();
    let document = Document {
        machine,
        options,
        figures,
    };
    serde_json::to_string_pretty(&document).expect("figures as JSON") + "\n"
}

impl Recorder {
    pub fn table(&self, name: &'static str) -> Table<'_> {
        Table {
            recorder: self,
            name,
        }
    }

    pub fn take(&self) -> Vec<Figure> {
        std::mem::take(&mut *self.0.lock().expect("figures lock"))
    }

    fn push(&self, figure: Figure) {
        self.0.lock().expect("figures lock").push(figure);
    }
}

/// One table's cells.
pub struct Table<'a> {
    recorder: &'a Recorder,
    name: &'static str,
}

impl Table<'_> {
    /// The cell text for `values` (one per run, see [`cell`]), recording the figure.
    pub fn figure(
        &self,
        row: &str,
        column: &str,
        unit: &str,
        values: &[Option<f64>],
        precision: usize,
    ) -> String {
        self.record(row, column, unit, values);
        cell(values, precision)
    }

    /// Records a figure the table prints in its own way (a fewest count, say).
    pub fn record(&self, row: &str, column: &str, unit: &str, values: &[Option<f64>]) {
        let summary = summary(values);
        self.push(row, column, unit, summary, values.to_vec());
    }

    /// A ratio of two medians, printed with two decimals ("-" if either is missing or the
    /// divisor is 0), recorded as a figure of unit "ratio" with no runs.
    pub fn ratio(&self, row: &str, column: &str, over: Option<f64>, under: Option<f64>) -> String {
        let ratio = over.zip(under.filter(|&u| u > 0.0)).map(|(o, u)| o / u);
        self.push(row, column, "ratio", ratio.map(|r| (r, r, r)), Vec::new());
        ratio.map_or("-".into(), |r| format!("{r:.2}"))
    }

    fn push(
        &self,
        row: &str,
        column: &str,
        unit: &str,
        summary: Option<(f64, f64, f64)>,
        runs: Vec<Option<f64>>,
    ) {
        self.recorder.push(Figure {
            table: self.name.into(),
            row: row.trim().into(),
            column: column.trim().into(),
            unit: unit.into(),
            median: summary.map(|s| s.0),
            min: summary.map(|s| s.1),
            max: summary.map(|s| s.2),
            runs,
        });
    }
}

/// Median, least and greatest of the runs; `None` unless every run was measured.
pub fn summary(values: &[Option<f64>]) -> Option<(f64, f64, f64)> {
    let mut v: Vec<f64> = values.iter().copied().collect::<Option<_>>()?;
    v.sort_by(f64::total_cmp);
    Some((*v.get(v.len() / 2)?, v[0], v[v.len() - 1]))
}

/// One table cell: the value of a single run, or the median and range of several; "-" if
/// nothing was measured, "timeout" if any run missed its deadline.
pub fn cell(values: &[Option<f64>], precision: usize) -> String {
    if values.iter().all(Option::is_none) {
        return "-".into();
    }
    let Some((median, min, max)) = summary(values) else {
        let missed = values.iter().filter(|v| v.is_none()).count();
        return format!("timeout ({missed}/{})", values.len());
    };
    if values.len() == 1 {
        format!("{median:.precision$}")
    } else {
        format!("{median:.precision$} ({min:.precision$}–{max:.precision$})")
    }
}

/// Checks the recorder on made-up runs (run by `cargo test`, like the injector's check): the
/// cell text and the JSON's median, min and max. Panics on a mismatch.
pub fn self_check() {
    let recorder = Recorder::default();
    let t = recorder.table("check");
    let text = t.figure("row", "held s", "s", &[Some(2.5), Some(1.25), Some(4.0)], 2);
    assert_eq!(text, "2.50 (1.25–4.00)");
    assert_eq!(
        t.figure("row", "two", "s", &[Some(3.0), Some(1.0)], 1),
        "3.0 (1.0–3.0)"
    );
    assert_eq!(
        t.figure("row", "late", "s", &[Some(1.0), None], 1),
        "timeout (1/2)"
    );
    assert_eq!(
        t.ratio("baton/bird2", "held s", Some(1.0), Some(4.0)),
        "0.25"
    );
    let json = serde_json::to_value(recorder.take()).expect("figures as JSON");
    let expected = serde_json::json!([
        {"table": "check", "row": "row", "column": "held s", "unit": "s",
         "median": 2.5, "min": 1.25, "max": 4.0, "runs": [2.5, 1.25, 4.0]},
        {"table": "check", "row": "row", "column": "two", "unit": "s",
         "median": 3.0, "min": 1.0, "max": 3.0, "runs": [3.0, 1.0]},
        {"table": "check", "row": "row", "column": "late", "unit": "s",
         "median": null, "min": null, "max": null, "runs": [1.0, null]},
        {"table": "check", "row": "baton/bird2", "column": "held s", "unit": "ratio",
         "median": 0.25, "min": 0.25, "max": 0.25, "runs": []},
    ]);
    assert_eq!(json, expected, "the recorder's JSON");
}
