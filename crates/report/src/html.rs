//! The page: one self-contained HTML file. The charting library (uPlot, vendored under
//! `assets/vendor/uplot` with its licence), the page's own script and style, and the data
//! as JSON are all inside it; it loads nothing, so it works from disk and offline.

use crate::model::ReportData;

const UPLOT_JS: &str = include_str!("../assets/vendor/uplot/uPlot.iife.min.js");
const UPLOT_CSS: &str = include_str!("../assets/vendor/uplot/uPlot.min.css");
const PAGE_JS: &str = include_str!("../assets/report.js");
const PAGE_CSS: &str = include_str!("../assets/report.css");
const ERRORS_JS: &str = include_str!("../assets/errors.js");
const SKELETON: &str = include_str!("../assets/page.html");

/// Renders the page for `data`.
pub fn render(data: &ReportData) -> String {
    let json = serde_json::to_string(data).unwrap_or_else(|e| format!("{{\"error\":{:?}}}", e.to_string()));
    let mut page = String::with_capacity(json.len() + UPLOT_JS.len() + PAGE_JS.len() + 16 * 1024);
    for (i, part) in SKELETON.split("@@").enumerate() {
        // The skeleton alternates text and placeholder names.
        if i % 2 == 0 {
            page.push_str(part);
            continue;
        }
        match part {
            "TITLE" => page.push_str(&escape_text(&data.title)),
            "ERRORS_JS" => page.push_str(ERRORS_JS),
            "UPLOT_CSS" => page.push_str(UPLOT_CSS),
            "PAGE_CSS" => page.push_str(PAGE_CSS),
            "UPLOT_JS" => page.push_str(UPLOT_JS),
            "PAGE_JS" => page.push_str(PAGE_JS),
            "DATA" => push_script_json(&mut page, &json),
            other => {
                page.push_str("@@");
                page.push_str(other);
                page.push_str("@@");
            }
        }
    }
    page
}

/// Writes JSON inside a `<script>` element: `<` only occurs inside JSON strings, where
/// `\u003c` means the same, so no `</script>` or `<!--` in the data can end the element.
fn push_script_json(page: &mut String, json: &str) {
    let mut rest = json;
    while let Some(i) = rest.find('<') {
        page.push_str(&rest[..i]);
        page.push_str("\\u003c");
        rest = &rest[i + 1..];
    }
    page.push_str(rest);
}

/// Escapes text for HTML element content.
fn escape_text(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_cannot_close_its_script_element() {
        let data = ReportData { title: "</script><b>".into(), summary: "</script><!--".into(), ..Default::default() };
        let page = render(&data);
        let start = page.find("id=\"mmsim-data\"").expect("data element");
        let body = &page[start..];
        let end = body.find("</script>").expect("closed");
        let json = &body[body.find('>').unwrap() + 1..end];
        let back: serde_json::Value = serde_json::from_str(json).expect("valid JSON");
        assert_eq!(back["summary"], "</script><!--");
        assert!(page.contains("<title>mmsim report: &lt;/script&gt;&lt;b&gt;</title>"));
    }

    #[test]
    fn the_page_loads_nothing_from_elsewhere() {
        let page = render(&ReportData::default());
        for needle in ["src=\"http", "href=\"http", "@import", "<link", "src=\"//"] {
            assert!(!page.contains(needle), "the page refers to {needle}");
        }
        assert!(!page.contains("@@"), "every placeholder is filled");
    }
}
