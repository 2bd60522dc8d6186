//! `headless`: one headless Chromium, driven through chromedriver (WebDriver), for the
//! report's browser tests and its load-time benchmark.
//!
//! [`Browser::start`] runs `chromedriver` on a free local port and opens one session of
//! Debian's `chromium` (`apt-get install chromium chromium-driver`); several pages are then
//! loaded in that one session ([`Browser::open`]), which keeps the tests fast. The calls
//! block: the WebDriver client is asynchronous and runs on a runtime of its own here.
//! [`png_variety`] tells whether a screenshot shows anything.
//!
//! It depends on no crate of the workspace but `hostreq` (a missing browser is a missing host
//! tool), and no library crate may depend on it: only tests use it (the report's and the
//! CLI's browser tests) and the report's load-time bench.
#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations)]

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::Value;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a page may take to become ready before a test gives up on it.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// A chromedriver process and one browser session in it.
pub struct Browser {
    rt: tokio::runtime::Runtime,
    client: Option<Client>,
    driver: Child,
    /// chromedriver's and Chromium's temporary directory (the profile chromedriver makes,
    /// Chromium's singleton socket): without one of its own, each session left a few MB
    /// behind in /tmp. Removed after the browser has quit (fields drop after `drop`).
    _scratch: tempfile::TempDir,
}

impl std::fmt::Debug for Browser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Browser").field("driver", &self.driver.id()).finish_non_exhaustive()
    }
}

/// What a loaded page reported.
#[derive(Clone, Debug)]
pub struct Loaded {
    /// Milliseconds from the start of navigation until the page said it was ready
    /// (`window.__mmsimReadyMs`).
    pub ready_ms: f64,
}

impl Browser {
    /// Starts chromedriver and a headless chromium session with a `width` x `height` window;
    /// the error says what is missing.
    pub fn start(width: u32, height: u32) -> Result<Browser, String> {
        let driver_path = hostreq::find_tool("chromedriver")
            .ok_or("chromedriver not found in PATH (apt-get install chromium-driver)")?;
        let chromium = hostreq::find_tool("chromium")
            .or_else(|| hostreq::find_tool("chromium-browser"))
            .ok_or("chromium not found in PATH (apt-get install chromium)")?;
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free local port: {e}"))?
            .port();
        let scratch = tempfile::Builder::new()
            .prefix("mmsim-headless-")
            .tempdir()
            .map_err(|e| format!("no temporary directory for the browser: {e}"))?;
        let driver = Command::new(&driver_path)
            .arg(format!("--port={port}"))
            .env("TMPDIR", scratch.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", driver_path.display()))?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("no async runtime: {e}"))?;
        let mut browser = Browser { rt, client: None, driver, _scratch: scratch };
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": chromium,
                "args": [
                    "--headless=new",
                    // Root in CI and containers: Chromium's sandbox needs user namespaces.
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--allow-file-access-from-files",
                    format!("--window-size={width},{height}"),
                ],
            }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        let client = browser.rt.block_on(async {
            loop {
                let connector = hyper_util::client::legacy::connect::HttpConnector::new();
                match ClientBuilder::new(connector).capabilities(caps.clone()).connect(&url).await {
                    Ok(c) => return Ok(c),
                    Err(e) if started.elapsed() > Duration::from_secs(20) => {
                        return Err(format!("cannot open a chromium session through chromedriver: {e}"))
                    }
                    Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            }
        })?;
        browser.client = Some(client);
        Ok(browser)
    }

    fn client(&self) -> &Client {
        self.client.as_ref().expect("a session")
    }

    /// Loads the page at `path` and waits until its script says it is ready; fails with
    /// the page's errors if it raised any first.
    pub fn open(&self, path: &Path) -> Result<Loaded, String> {
        let abs = std::fs::canonicalize(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let url = format!("file://{}", abs.display());
        self.rt.block_on(self.client().goto(&url)).map_err(|e| format!("cannot load {url}: {e}"))?;
        let started = Instant::now();
        loop {
            let state = self.eval(
                "return { ready: window.__mmsimReady === true, ms: window.__mmsimReadyMs || 0, \
                 errors: window.__mmsimErrors || ['the error hook is missing'] };",
            )?;
            let errors = self.errors_in(&state);
            if !errors.is_empty() {
                return Err(format!("{}: the page raised errors: {}", path.display(), errors.join("; ")));
            }
            if state["ready"] == Value::Bool(true) {
                return Ok(Loaded { ready_ms: state["ms"].as_f64().unwrap_or(0.0) });
            }
            if started.elapsed() > READY_TIMEOUT {
                return Err(format!("{}: not ready after {READY_TIMEOUT:?}", path.display()));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn errors_in(&self, state: &Value) -> Vec<String> {
        state["errors"].as_array().map(|a| a.iter().map(|e| e.to_string()).collect()).unwrap_or_default()
    }

    /// The errors the current page raised so far (`window.__mmsimErrors`).
    pub fn errors(&self) -> Result<Vec<String>, String> {
        let state = self.eval("return { errors: window.__mmsimErrors || ['the error hook is missing'] };")?;
        Ok(self.errors_in(&state))
    }

    /// Runs `script` (a function body: `return ...` gives the value) in the page.
    pub fn eval(&self, script: &str) -> Result<Value, String> {
        self.rt.block_on(self.client().execute(script, Vec::new())).map_err(|e| format!("script failed: {e}"))
    }

    /// Clicks the first element `css` selects, as a user would (WebDriver moves the pointer
    /// to its middle).
    pub fn click(&self, css: &str) -> Result<(), String> {
        self.rt.block_on(async {
            let el = self.client().find(Locator::Css(css)).await.map_err(|e| format!("no element {css}: {e}"))?;
            el.click().await.map_err(|e| format!("cannot click {css}: {e}"))
        })
    }

    /// The visible text of every element `css` selects.
    pub fn texts(&self, css: &str) -> Result<Vec<String>, String> {
        self.rt.block_on(async {
            let els = self.client().find_all(Locator::Css(css)).await.map_err(|e| format!("{css}: {e}"))?;
            let mut out = Vec::with_capacity(els.len());
            for el in els {
                out.push(el.text().await.map_err(|e| format!("{css}: {e}"))?);
            }
            Ok(out)
        })
    }

    /// A PNG screenshot of the window.
    pub fn screenshot(&self) -> Result<Vec<u8>, String> {
        self.rt.block_on(self.client().screenshot()).map_err(|e| format!("no screenshot: {e}"))
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(c) = self.client.take() {
            let _ = self.rt.block_on(c.close());
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// What a screenshot shows: how many distinct colours, and the share of pixels that are
/// not (near) white. A blank page has one colour and no such pixel.
pub fn png_variety(png_bytes: &[u8]) -> Result<(usize, f64), String> {
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let mut reader = decoder.read_info().map_err(|e| format!("not a PNG: {e}"))?;
    let mut buf = vec![0; reader.output_buffer_size().ok_or("PNG too large")?];
    let info = reader.next_frame(&mut buf).map_err(|e| format!("bad PNG: {e}"))?;
    let channels = match info.color_type {
        png::ColorType::Rgba => 4,
        png::ColorType::Rgb => 3,
        other => return Err(format!("unexpected PNG colour type {other:?}")),
    };
    let pixels = &buf[..info.buffer_size()];
    let mut colours = std::collections::HashSet::new();
    let mut inked = 0usize;
    let mut total = 0usize;
    for px in pixels.chunks_exact(channels) {
        let rgb = (px[0], px[1], px[2]);
        colours.insert(rgb);
        total += 1;
        if rgb.0 < 240 || rgb.1 < 240 || rgb.2 < 240 {
            inked += 1;
        }
    }
    Ok((colours.len(), inked as f64 / total.max(1) as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(w: u32, h: u32, pixel: impl Fn(u32, u32) -> [u8; 3]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().unwrap();
        let pixel = &pixel;
        let data: Vec<u8> = (0..h).flat_map(|y| (0..w).flat_map(move |x| pixel(x, y))).collect();
        writer.write_image_data(&data).unwrap();
        drop(writer);
        out
    }

    #[test]
    fn a_blank_image_has_one_colour_and_no_ink() {
        let (colours, ink) = png_variety(&encode(8, 8, |_, _| [255, 255, 255])).unwrap();
        assert_eq!((colours, ink), (1, 0.0));
    }

    #[test]
    fn a_drawn_image_has_colours_and_ink() {
        let (colours, ink) = png_variety(&encode(8, 8, |x, y| [(x * 30) as u8, (y * 30) as u8, 0])).unwrap();
        assert_eq!(colours, 64);
        assert!(ink > 0.9);
    }
}
