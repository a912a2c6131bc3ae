//! `pushfeed report --out report.html`: one self-contained HTML page (inline SVG drawn with
//! plotters, no network needed) of what the analyst views and the ledger say: windows over time,
//! rows per type, rejections by reason, campaigns, send hours, holdout uplift and freshness.
//!
//! Every figure is read from the warehouse through the Warehouse port with the views' own
//! columns, and each table cell keeps the warehouse's exact text in `data-value`, so a test can
//! hold the page to the views.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use anyhow::{anyhow, Result};
use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;

use crate::domain::routes::Route;
use crate::domain::views::{CUSTOMER_SEND_HOURS, HOLDOUT_UPLIFT};
use crate::ports::{ObjectStore, QueryResult, Warehouse};

/// Campaign rows shown, most sends first.
pub const CAMPAIGN_ROWS: usize = 20;
/// Customers in the heat map, most opens first.
pub const HEATMAP_CUSTOMERS: usize = 20;

/// Everything the page shows, as read.
#[derive(Debug, Default)]
pub struct ReportData {
    /// (window_start, rows inserted) per window, oldest first.
    pub windows: Vec<(String, f64)>,
    /// (table, rows).
    pub tables: Vec<(String, f64)>,
    /// (reason, records), most first.
    pub rejections: Vec<(String, f64)>,
    pub campaigns: QueryResult,
    /// Users per best local hour, 0-23.
    pub hours: [f64; 24],
    /// (named_user_id, opens per local hour).
    pub heatmap: Vec<(String, [f64; 24])>,
    pub holdout: QueryResult,
    pub freshness: QueryResult,
}

fn num(v: &Option<String>) -> f64 {
    v.as_deref().and_then(|s| s.parse().ok()).unwrap_or(0.0)
}

fn text(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}

/// Reads the report's figures: the warehouse for everything, the object store (when there is
/// one) for the rejected records' reasons.
pub async fn gather(
    warehouse: &dyn Warehouse,
    store: Option<&dyn ObjectStore>,
    routes: &[Route],
) -> Result<ReportData> {
    let mut d = ReportData::default();
    let windows = warehouse
        .query("SELECT window_start, SUM(rows_inserted) AS rows_loaded FROM pushfeed_loads GROUP BY window_start ORDER BY window_start")
        .await?;
    d.windows = windows
        .rows
        .iter()
        .map(|r| (text(&r[0]), num(&r[1])))
        .collect();
    if !routes.is_empty() {
        let counts = routes
            .iter()
            .map(|r| {
                format!(
                    "SELECT '{}' AS table_name, COUNT(*) AS n FROM {}",
                    r.table, r.table
                )
            })
            .collect::<Vec<_>>()
            .join(" UNION ALL ");
        let counts = warehouse.query(&counts).await?;
        let mut tables: Vec<(String, f64)> = counts
            .rows
            .iter()
            .map(|r| (text(&r[0]), num(&r[1])))
            .collect();
        tables.sort_by(|a, b| a.0.cmp(&b.0));
        d.tables = tables;
    }
    if let Some(store) = store {
        d.rejections = rejections(store).await?;
    }
    d.campaigns = warehouse
        .query(&format!(
            "SELECT push_id, group_id, sends, direct_opens, attributed_opens, direct_open_rate, attributed_open_rate \
             FROM push_campaign_performance ORDER BY sends DESC, push_id LIMIT {CAMPAIGN_ROWS}"
        ))
        .await?;
    let hours = warehouse
        .query(&format!(
            "SELECT best_local_hour, COUNT(*) AS users FROM {CUSTOMER_SEND_HOURS} GROUP BY best_local_hour ORDER BY best_local_hour"
        ))
        .await?;
    for r in &hours.rows {
        let h = num(&r[0]) as usize;
        if h < 24 {
            d.hours[h] = num(&r[1]);
        }
    }
    // The view's own period and hour, for its busiest customers.
    let heat = warehouse
        .query(&format!(
            "WITH top AS (SELECT named_user_id, opens FROM {CUSTOMER_SEND_HOURS} ORDER BY opens DESC, named_user_id LIMIT {HEATMAP_CUSTOMERS}), \
             bounds AS (SELECT MAX(occurred_at) AS ref_at FROM push_opens) \
             SELECT o.named_user_id, CAST(EXTRACT(HOUR FROM o.occurred_local) AS INTEGER) AS local_hour, COUNT(*) AS n \
             FROM push_opens o JOIN top t ON t.named_user_id = o.named_user_id CROSS JOIN bounds b \
             WHERE o.occurred_at > b.ref_at - INTERVAL '1440 hours' AND o.occurred_at <= b.ref_at AND o.occurred_local IS NOT NULL \
             GROUP BY o.named_user_id, CAST(EXTRACT(HOUR FROM o.occurred_local) AS INTEGER), t.opens \
             ORDER BY t.opens DESC, o.named_user_id"
        ))
        .await?;
    let mut order: Vec<String> = Vec::new();
    let mut grid: BTreeMap<String, [f64; 24]> = BTreeMap::new();
    for r in &heat.rows {
        let user = text(&r[0]);
        if !grid.contains_key(&user) {
            order.push(user.clone());
        }
        let h = num(&r[1]) as usize;
        if h < 24 {
            grid.entry(user).or_insert([0.0; 24])[h] = num(&r[2]);
        }
    }
    d.heatmap = order
        .into_iter()
        .map(|u| {
            let row = grid[&u];
            (u, row)
        })
        .collect();
    d.holdout = warehouse
        .query(&format!(
            "SELECT group_id, treated, control, treated_rate, control_rate, abs_lift, abs_lift_low, abs_lift_high FROM {HOLDOUT_UPLIFT} ORDER BY group_id"
        ))
        .await?;
    d.freshness = warehouse
        .query("SELECT table_name, MAX(window_start) AS last_window, MAX(loaded_at) AS loaded_at FROM pushfeed_loads GROUP BY table_name ORDER BY table_name")
        .await?;
    Ok(d)
}

/// Rejected records by reason, from every `rejected/` object.
async fn rejections(store: &dyn ObjectStore) -> Result<Vec<(String, f64)>> {
    let mut counts: BTreeMap<String, f64> = BTreeMap::new();
    for meta in store.list("rejected/").await? {
        let bytes = store.get(&meta.key).await?;
        for line in bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let reason = serde_json::from_slice::<serde_json::Value>(line)
                .ok()
                .and_then(|v| v.get("reason").and_then(|r| r.as_str()).map(str::to_string))
                .unwrap_or_else(|| "unreadable".to_string());
            *counts.entry(reason).or_default() += 1.0;
        }
    }
    let mut out: Vec<(String, f64)> = counts.into_iter().collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Ok(out)
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn plot<E: std::fmt::Display>(r: std::result::Result<(), E>) -> Result<()> {
    r.map_err(|e| anyhow!("drawing a chart: {e}"))
}

const W: u32 = 900;
const H: u32 = 320;

/// Bars of `values` labelled by `labels`.
fn bars(title: &str, labels: &[String], values: &[f64], color: RGBColor) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (W, H)).into_drawing_area();
        plot(root.fill(&WHITE))?;
        let n = labels.len().max(1) as i32;
        let top = values.iter().cloned().fold(0.0, f64::max).max(1.0) * 1.1;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(60)
            .y_label_area_size(60)
            .build_cartesian_2d((0..n).into_segmented(), 0f64..top)
            .map_err(|e| anyhow!("drawing a chart: {e}"))?;
        let step = (labels.len() / 24).max(1);
        plot(
            chart
                .configure_mesh()
                .disable_x_mesh()
                .x_labels(labels.len().clamp(1, 24))
                .x_label_formatter(&|v| match v {
                    SegmentValue::CenterOf(i) | SegmentValue::Exact(i)
                        if (*i as usize) < labels.len() && (*i as usize).is_multiple_of(step) =>
                    {
                        labels[*i as usize].clone()
                    }
                    _ => String::new(),
                })
                .draw(),
        )?;
        plot(
            chart
                .draw_series(values.iter().enumerate().map(|(i, &v)| {
                    Rectangle::new(
                        [
                            (SegmentValue::Exact(i as i32), 0.0),
                            (SegmentValue::Exact(i as i32 + 1), v),
                        ],
                        color.filled(),
                    )
                }))
                .map(|_| ()),
        )?;
        plot(root.present())?;
    }
    Ok(svg)
}

/// Customers by local hour, shaded by opens.
fn heatmap(rows: &[(String, [f64; 24])]) -> Result<String> {
    let mut svg = String::new();
    {
        let height = (60 + 18 * rows.len().max(1) + 60) as u32;
        let root = SVGBackend::with_string(&mut svg, (W, height)).into_drawing_area();
        plot(root.fill(&WHITE))?;
        let n = rows.len().max(1) as i32;
        let max = rows
            .iter()
            .flat_map(|(_, r)| r.iter().cloned())
            .fold(0.0, f64::max)
            .max(1.0);
        let mut chart = ChartBuilder::on(&root)
            .caption("Opens by local hour, busiest customers", ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(140)
            .build_cartesian_2d(0i32..24, 0i32..n)
            .map_err(|e| anyhow!("drawing a chart: {e}"))?;
        plot(
            chart
                .configure_mesh()
                .disable_mesh()
                .x_labels(24)
                .y_labels(rows.len().max(1))
                .y_label_formatter(&|y| {
                    rows.get((n - 1 - *y) as usize)
                        .map(|r| r.0.clone())
                        .unwrap_or_default()
                })
                .draw(),
        )?;
        let cells = rows.iter().enumerate().flat_map(|(i, (_, hours))| {
            let y = n - 1 - i as i32;
            hours.iter().enumerate().map(move |(h, &v)| {
                let shade = (255.0 - 215.0 * (v / max)) as u8;
                Rectangle::new(
                    [(h as i32, y), (h as i32 + 1, y + 1)],
                    RGBColor(shade, shade, 255).filled(),
                )
            })
        });
        plot(chart.draw_series(cells).map(|_| ()))?;
        plot(root.present())?;
    }
    Ok(svg)
}

/// Each group's absolute lift with its interval, around zero.
fn intervals(groups: &[(String, f64, f64, f64)]) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (W, H)).into_drawing_area();
        plot(root.fill(&WHITE))?;
        let n = groups.len().max(1) as i32;
        let lo = groups.iter().map(|g| g.2).fold(0.0, f64::min) - 0.05;
        let hi = groups.iter().map(|g| g.3).fold(0.0, f64::max) + 0.05;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                "Holdout uplift per group (95% interval)",
                ("sans-serif", 18),
            )
            .margin(10)
            .x_label_area_size(60)
            .y_label_area_size(60)
            .build_cartesian_2d((0..n).into_segmented(), lo..hi)
            .map_err(|e| anyhow!("drawing a chart: {e}"))?;
        plot(
            chart
                .configure_mesh()
                .disable_x_mesh()
                .x_labels(groups.len().clamp(1, 30))
                .x_label_formatter(&|v| match v {
                    SegmentValue::CenterOf(i) => groups
                        .get(*i as usize)
                        .map(|g| g.0.chars().take(8).collect())
                        .unwrap_or_default(),
                    _ => String::new(),
                })
                .draw(),
        )?;
        plot(
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(SegmentValue::Exact(0), 0.0), (SegmentValue::Exact(n), 0.0)],
                    BLACK.stroke_width(1),
                )))
                .map(|_| ()),
        )?;
        plot(
            chart
                .draw_series(groups.iter().enumerate().map(|(i, g)| {
                    ErrorBar::new_vertical(
                        SegmentValue::CenterOf(i as i32),
                        g.2,
                        g.1,
                        g.3,
                        RGBColor(200, 60, 40).filled(),
                        12,
                    )
                }))
                .map(|_| ()),
        )?;
        plot(root.present())?;
    }
    Ok(svg)
}

fn table(out: &mut String, id: &str, result: &QueryResult) {
    let _ = write!(out, "<table id=\"{id}\"><thead><tr>");
    for c in &result.columns {
        let _ = write!(out, "<th>{}</th>", esc(c));
    }
    out.push_str("</tr></thead><tbody>");
    for row in &result.rows {
        out.push_str("<tr>");
        for (c, v) in result.columns.iter().zip(row) {
            let (raw, shown) = match v {
                None => ("NULL".to_string(), "–".to_string()),
                Some(s) => {
                    let shown = if c.ends_with("_rate") || c.starts_with("abs_lift") {
                        s.parse::<f64>()
                            .map(|x| format!("{x:.4}"))
                            .unwrap_or_else(|_| s.clone())
                    } else {
                        s.clone()
                    };
                    (s.clone(), shown)
                }
            };
            let _ = write!(
                out,
                "<td data-column=\"{}\" data-value=\"{}\">{}</td>",
                esc(c),
                esc(&raw),
                esc(&shown)
            );
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
}

/// The pairs as a two-column table with exact values.
fn pairs(out: &mut String, id: &str, headers: [&str; 2], rows: &[(String, f64)]) {
    let result = QueryResult {
        columns: headers.iter().map(|h| h.to_string()).collect(),
        rows: rows
            .iter()
            .map(|(k, v)| vec![Some(k.clone()), Some(format!("{v}"))])
            .collect(),
    };
    table(out, id, &result);
}

fn figure(out: &mut String, id: &str, svg: &str) {
    let _ = write!(out, "<figure class=\"chart\" id=\"{id}\">{svg}</figure>");
}

/// The page.
pub fn render(d: &ReportData, title: &str, generated_at: &str) -> Result<String> {
    let mut out = String::with_capacity(256 * 1024);
    let _ = write!(
        out,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title>\
         <style>body{{font-family:sans-serif;margin:2em;max-width:960px}}table{{border-collapse:collapse;margin:1em 0}}\
         td,th{{border:1px solid #ccc;padding:2px 6px;font-size:13px;text-align:right}}figure{{margin:1em 0}}</style></head>\
         <body><h1>{t}</h1><p>Generated {g}. Figures come from the analyst views and the load ledger (docs/analysts.md).</p>",
        t = esc(title),
        g = esc(generated_at)
    );
    out.push_str("<h2>Windows loaded</h2>");
    let labels: Vec<String> = d
        .windows
        .iter()
        .map(|w| w.0.get(11..16).unwrap_or(&w.0).to_string())
        .collect();
    let values: Vec<f64> = d.windows.iter().map(|w| w.1).collect();
    figure(
        &mut out,
        "chart-windows",
        &bars(
            "Rows loaded per window",
            &labels,
            &values,
            RGBColor(50, 110, 190),
        )?,
    );
    pairs(
        &mut out,
        "windows",
        ["window_start", "rows_loaded"],
        &d.windows,
    );

    out.push_str("<h2>Rows per type</h2>");
    let labels: Vec<String> = d.tables.iter().map(|t| t.0.clone()).collect();
    let values: Vec<f64> = d.tables.iter().map(|t| t.1).collect();
    figure(
        &mut out,
        "chart-tables",
        &bars("Rows per table", &labels, &values, RGBColor(60, 150, 90))?,
    );
    pairs(&mut out, "tables", ["table_name", "rows"], &d.tables);

    out.push_str("<h2>Rejections by reason</h2>");
    let labels: Vec<String> = d.rejections.iter().map(|t| t.0.clone()).collect();
    let values: Vec<f64> = d.rejections.iter().map(|t| t.1).collect();
    figure(
        &mut out,
        "chart-rejections",
        &bars(
            "Rejected records by reason",
            &labels,
            &values,
            RGBColor(190, 80, 50),
        )?,
    );
    pairs(&mut out, "rejections", ["reason", "records"], &d.rejections);

    let _ = write!(out, "<h2>Campaigns</h2><p>The {CAMPAIGN_ROWS} pushes with the most sends, from push_campaign_performance.</p>");
    table(&mut out, "campaigns", &d.campaigns);

    out.push_str("<h2>Send hours</h2>");
    let labels: Vec<String> = (0..24).map(|h| format!("{h:02}")).collect();
    figure(
        &mut out,
        "chart-hours",
        &bars(
            "Customers by best local hour (customer_send_hours)",
            &labels,
            &d.hours,
            RGBColor(120, 80, 170),
        )?,
    );
    let hours: Vec<(String, f64)> = d
        .hours
        .iter()
        .enumerate()
        .filter(|(_, &n)| n > 0.0)
        .map(|(h, &n)| (h.to_string(), n))
        .collect();
    pairs(&mut out, "hours", ["best_local_hour", "users"], &hours);
    figure(&mut out, "chart-heatmap", &heatmap(&d.heatmap)?);

    out.push_str("<h2>Holdout uplift</h2>");
    let col = |name: &str| d.holdout.columns.iter().position(|c| c == name);
    let (g, l, lo, hi) = (
        col("group_id"),
        col("abs_lift"),
        col("abs_lift_low"),
        col("abs_lift_high"),
    );
    let groups: Vec<(String, f64, f64, f64)> = match (g, l, lo, hi) {
        (Some(g), Some(l), Some(lo), Some(hi)) => d
            .holdout
            .rows
            .iter()
            .filter(|r| r[l].is_some())
            .map(|r| (text(&r[g]), num(&r[l]), num(&r[lo]), num(&r[hi])))
            .collect(),
        _ => Vec::new(),
    };
    figure(&mut out, "chart-holdout", &intervals(&groups)?);
    table(&mut out, "holdout", &d.holdout);

    out.push_str("<h2>Freshness</h2><p>The last window loaded into each table.</p>");
    table(&mut out, "freshness", &d.freshness);
    // Marks each chart as drawn once the browser has laid it out, for the headless check.
    out.push_str(
        "<script>for (const f of document.querySelectorAll('figure.chart')) { const s = f.querySelector('svg'); \
         const r = s ? s.getBoundingClientRect() : null; f.dataset.rendered = String(!!r && r.width > 100 && r.height > 100 \
         && s.querySelectorAll('rect, path, polyline, line, text').length > 3); }</script></body></html>",
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_warehouse_renders_a_page_without_charts_failing() {
        // No windows, no rejections, no campaigns, no groups: every chart has nothing to draw,
        // and an axis with no labels must not make the plotting library loop or overflow.
        let page = render(&ReportData::default(), "empty", "now").unwrap();
        assert!(page.contains("<table id=\"campaigns\""), "{page}");
        assert!(page.matches("<svg").count() >= 3, "{page}");
    }
}
