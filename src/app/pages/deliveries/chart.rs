//! The 24-hour chart: delivered and not-delivered deliveries per hour as stacked bars, and
//! the median latency as a line. Plain SVG rendered on the server, so it needs no script.

use crate::model::delivery::{DeliveryChart, HourStats};
use crate::model::time::utc_hour;
use leptos::prelude::*;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 220.0;
const LEFT: f64 = 44.0;
const RIGHT: f64 = 52.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 26.0;

/// A round axis maximum at or above `max`, so the top label reads well.
fn axis_max(max: i64) -> i64 {
    let max = max.max(1);
    let magnitude = 10_i64.pow(max.ilog10());
    [1, 2, 5, 10]
        .into_iter()
        .map(|step| step * magnitude)
        .find(|candidate| *candidate >= max)
        .unwrap_or(10 * magnitude)
}

fn hour_title(hour: &HourStats) -> String {
    let latency = hour
        .p50_latency_ms
        .map(|ms| format!(", median latency {ms} ms"))
        .unwrap_or_default();
    format!(
        "{} UTC: {} delivered, {} not delivered{latency}",
        utc_hour(hour.hour_start_ms),
        hour.delivered,
        hour.not_delivered
    )
}

#[component]
pub fn DeliveryChartView(chart: DeliveryChart) -> impl IntoView {
    let plot_width = WIDTH - LEFT - RIGHT;
    let plot_height = HEIGHT - TOP - BOTTOM;
    let slot = plot_width / chart.hours.len().max(1) as f64;
    let count_max = axis_max(
        chart
            .hours
            .iter()
            .map(|h| h.delivered + h.not_delivered)
            .max()
            .unwrap_or(0),
    );
    let latency_max = axis_max(
        chart
            .hours
            .iter()
            .filter_map(|h| h.p50_latency_ms)
            .max()
            .unwrap_or(0),
    );
    let y_count = move |n: i64| TOP + plot_height * (1.0 - n as f64 / count_max as f64);
    let y_latency = move |ms: i64| TOP + plot_height * (1.0 - ms as f64 / latency_max as f64);
    let bottom = TOP + plot_height;

    let delivered: i64 = chart.hours.iter().map(|h| h.delivered).sum();
    let not_delivered: i64 = chart.hours.iter().map(|h| h.not_delivered).sum();
    let summary = format!(
        "Last 24 hours: {delivered} delivered, {not_delivered} not delivered (failed or retrying)."
    );
    let bars = chart
        .hours
        .iter()
        .enumerate()
        .map(|(i, hour)| {
            let x = LEFT + slot * i as f64 + slot * 0.15;
            let width = slot * 0.7;
            let delivered_top = y_count(hour.delivered);
            let failed_top = y_count(hour.delivered + hour.not_delivered);
            let label = (i % 6 == 0).then(|| {
                view! {
                    <text x=format!("{:.1}", x + width / 2.0) y=format!("{:.1}", HEIGHT - 8.0) text-anchor="middle" class="axis">
                        {utc_hour(hour.hour_start_ms)}
                    </text>
                }
            });
            view! {
                <g class="hour">
                    <title>{hour_title(hour)}</title>
                    <rect class="bar-delivered" x=format!("{x:.1}") y=format!("{delivered_top:.1}")
                        width=format!("{width:.1}") height=format!("{:.1}", bottom - delivered_top)/>
                    <rect class="bar-failed" x=format!("{x:.1}") y=format!("{failed_top:.1}")
                        width=format!("{width:.1}") height=format!("{:.1}", delivered_top - failed_top)/>
                    {label}
                </g>
            }
        })
        .collect_view();
    let latency_at: Vec<(f64, f64)> = chart
        .hours
        .iter()
        .enumerate()
        .filter_map(|(i, hour)| {
            hour.p50_latency_ms
                .map(|ms| (LEFT + slot * (i as f64 + 0.5), y_latency(ms)))
        })
        .collect();
    let latency_points = latency_at
        .iter()
        .map(|(x, y)| format!("{x:.1},{y:.1}"))
        .collect::<Vec<_>>()
        .join(" ");
    // A dot per hour, so a single hour with deliveries still shows its median.
    let latency_dots = latency_at
        .into_iter()
        .map(|(x, y)| view! { <circle class="latency-dot" cx=format!("{x:.1}") cy=format!("{y:.1}") r="3"/> })
        .collect_view();

    view! {
        <figure class="chart" data-testid="delivery-chart">
            <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-label=summary.clone()>
                <line class="axis-line" x1=LEFT.to_string() y1=bottom.to_string() x2=(WIDTH - RIGHT).to_string() y2=bottom.to_string()/>
                <text x=(LEFT - 6.0).to_string() y=(TOP + 4.0).to_string() text-anchor="end" class="axis">{count_max}</text>
                <text x=(LEFT - 6.0).to_string() y=bottom.to_string() text-anchor="end" class="axis">"0"</text>
                <text x=(WIDTH - RIGHT + 6.0).to_string() y=(TOP + 4.0).to_string() class="axis latency">{format!("{latency_max} ms")}</text>
                {bars}
                <polyline class="latency-line" points=latency_points fill="none"/>
                {latency_dots}
            </svg>
            <figcaption>
                <span class="key delivered">"Delivered"</span>
                <span class="key failed">"Not delivered (failed or retrying)"</span>
                <span class="key latency">"Median latency"</span>
                <span class="hint">{summary}</span>
            </figcaption>
        </figure>
    }
}

#[cfg(test)]
mod tests {
    use super::axis_max;

    #[test]
    fn axis_maxima_are_round() {
        assert_eq!(axis_max(0), 1);
        assert_eq!(axis_max(1), 1);
        assert_eq!(axis_max(3), 5);
        assert_eq!(axis_max(7), 10);
        assert_eq!(axis_max(11), 20);
        assert_eq!(axis_max(180), 200);
        assert_eq!(axis_max(501), 1000);
    }
}
