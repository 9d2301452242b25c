//! A stand-in for the Anthropic Messages API, good enough for the real Claude
//! Code CLI (2.1.197) to run offline against it (`ANTHROPIC_BASE_URL`).
//!
//! Only `std` and `serde_json`: a `TcpListener` on 127.0.0.1:0 served from a
//! background thread, one thread per connection, hand-written HTTP/1.1 with
//! keep-alive, `Content-Length` and chunked request bodies, and
//! `Expect: 100-continue`.
//!
//! What Claude Code calls (seen with `CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1`):
//! `HEAD /` once at start-up (a connectivity check), then
//! `POST /v1/messages?beta=true` with `"stream": true` for every turn (its
//! `model` is the full id: `--model sonnet` sends `claude-sonnet-5`, `--model
//! opus` sends `claude-opus-4-8`), and, beside most turns, a streamed
//! session-title request to `claude-haiku-4-5-20251001`. Every request is
//! answered; anything unknown gets `200 {}`. An API key comes as `x-api-key`;
//! a subscription (`CLAUDE_CODE_OAUTH_TOKEN`) as `authorization: Bearer`.
//!
//! Accounts: a request's credential (`authorization: Bearer <token>` for a
//! subscription's OAuth token, `x-api-key` for an API key) names its account.
//! [`FakeApi::limit`] makes one account's model turns fail as Anthropic's API
//! fails them at a usage limit (HTTP 429, a `rate_limit_error` body, and the
//! `anthropic-ratelimit-unified-*` headers Claude Code reads) until a reset
//! time; from then on they are answered again. [`FakeApi::usage`] makes
//! one account's answers carry its usage (the unified `5h`/`7d`
//! utilization and reset headers), which Claude Code hands to its status
//! line.
//!
//! See docs/real-agent-notes.md.

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

/// What every model turn answers.
const REPLY: &str = "Done.";

/// One request as the stand-in received it.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// `GET`, `HEAD`, `POST`, ...
    pub method: String,
    /// The request target as sent, query included (`/v1/messages?beta=true`).
    pub path: String,
    /// The body parsed as JSON; `Value::Null` when empty or not JSON.
    pub body: Value,
    /// The account's credential: the bearer token, else the `x-api-key`.
    pub credential: Option<String>,
    /// The HTTP status it was answered with.
    pub status: u16,
}

impl RecordedRequest {
    /// The path without its query string.
    pub fn route(&self) -> &str {
        self.path.split('?').next().unwrap_or("")
    }

    /// True for a `POST /v1/messages` (a model turn, streamed or not).
    pub fn is_messages(&self) -> bool {
        self.method == "POST" && self.route() == "/v1/messages"
    }

    /// True for the side request Claude Code makes to name the session (a
    /// Haiku model, system prompt "Generate a concise, sentence-case title",
    /// user text `<session>\n{prompt}\n</session>...`). It is sent next to
    /// most (not all) turns, so tests should not count on it either way.
    pub fn is_title_request(&self) -> bool {
        self.body
            .get("system")
            .map(|s| {
                s.to_string()
                    .contains("Generate a concise, sentence-case title")
            })
            .unwrap_or(false)
    }

    /// The text of the last user message's last text block, if any (Claude
    /// Code sends the typed prompt as the last text block of the last user
    /// message; earlier blocks carry `<system-reminder>` context).
    pub fn last_user_text(&self) -> Option<String> {
        let msgs = self.body.get("messages")?.as_array()?;
        let last = msgs.iter().rev().find(|m| m["role"] == "user")?;
        match &last["content"] {
            Value::String(s) => Some(s.clone()),
            Value::Array(blocks) => blocks
                .iter()
                .rev()
                .find(|b| b["type"] == "text")
                .and_then(|b| b["text"].as_str())
                .map(str::to_owned),
            _ => None,
        }
    }
}

/// Which of Anthropic's usage limits an account hit: the
/// `anthropic-ratelimit-unified-representative-claim` header's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// `five_hour`: Claude Code calls it the session limit.
    FiveHour,
    /// `seven_day`: the weekly limit.
    SevenDay,
}

impl Claim {
    pub fn header(self) -> &'static str {
        match self {
            Claim::FiveHour => "five_hour",
            Claim::SevenDay => "seven_day",
        }
    }
}

/// An account at its usage limit until `reset` (epoch seconds).
#[derive(Debug, Clone, Copy)]
struct Limit {
    claim: Claim,
    reset: u64,
    /// A `retry-after` header, in seconds.
    retry_after: Option<u64>,
}

/// An account's usage as the API reports it on every answer: utilization
/// (0–1) and reset (epoch seconds) of the five-hour and seven-day windows.
#[derive(Debug, Clone, Copy)]
pub struct Usage {
    pub five_hour: (f64, u64),
    pub seven_day: (f64, u64),
}

impl Usage {
    /// The `anthropic-ratelimit-unified-*` headers that carry it, as
    /// Claude Code reads them into its status line's `rate_limits`.
    fn headers(&self) -> String {
        format!(
            "anthropic-ratelimit-unified-status: allowed\r\n\
             anthropic-ratelimit-unified-5h-utilization: {}\r\n\
             anthropic-ratelimit-unified-5h-reset: {}\r\n\
             anthropic-ratelimit-unified-7d-utilization: {}\r\n\
             anthropic-ratelimit-unified-7d-reset: {}\r\n",
            self.five_hour.0, self.five_hour.1, self.seven_day.0, self.seven_day.1
        )
    }
}

struct Inner {
    requests: Mutex<Vec<RecordedRequest>>,
    /// By credential.
    limits: Mutex<HashMap<String, Limit>>,
    /// By credential.
    usage: Mutex<HashMap<String, Usage>>,
    stopped: AtomicBool,
    conns: Mutex<HashMap<u64, TcpStream>>,
    next_conn: AtomicU64,
    /// Model turns whose messages hold one of these texts are not answered
    /// until it is released: an agent that keeps working.
    held: Mutex<Vec<String>>,
}

/// The running stand-in. Dropping it stops it.
pub struct FakeApi {
    addr: SocketAddr,
    inner: Arc<Inner>,
    acceptor: Mutex<Option<JoinHandle<()>>>,
}

impl FakeApi {
    /// Binds 127.0.0.1:0 and serves from a background thread. Every model turn
    /// answers the text `Done.`.
    pub fn start() -> FakeApi {
        let listener = TcpListener::bind("127.0.0.1:0").expect("fake_api: bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("fake_api: local_addr");
        // Polled so that stop() can drop the listener promptly and for sure.
        listener
            .set_nonblocking(true)
            .expect("fake_api: set_nonblocking");
        let inner = Arc::new(Inner {
            requests: Mutex::new(Vec::new()),
            limits: Mutex::new(HashMap::new()),
            usage: Mutex::new(HashMap::new()),
            stopped: AtomicBool::new(false),
            conns: Mutex::new(HashMap::new()),
            next_conn: AtomicU64::new(0),
            held: Mutex::new(Vec::new()),
        });
        let acc_inner = Arc::clone(&inner);
        let acceptor = thread::Builder::new()
            .name("fake-api-accept".into())
            .spawn(move || accept_loop(listener, acc_inner))
            .expect("fake_api: spawn");
        FakeApi {
            addr,
            inner,
            acceptor: Mutex::new(Some(acceptor)),
        }
    }

    /// `http://127.0.0.1:PORT` (no trailing slash), for `ANTHROPIC_BASE_URL`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.inner.requests).clone()
    }

    /// Until `reset` (epoch seconds), every `POST /v1/messages` that carries
    /// `credential` (an OAuth token or an API key) is refused as the API
    /// refuses an account at its usage limit: HTTP 429, a `rate_limit_error`
    /// body and the headers `anthropic-ratelimit-unified-status: rejected`,
    /// `anthropic-ratelimit-unified-representative-claim: <claim>` and
    /// `anthropic-ratelimit-unified-reset: <reset>`. From `reset` on, its
    /// turns are answered again. Other credentials are not affected.
    pub fn limit(&self, credential: &str, claim: Claim, reset: u64) {
        let limit = Limit {
            claim,
            reset,
            retry_after: None,
        };
        lock(&self.inner.limits).insert(credential.to_string(), limit);
    }

    /// As [`FakeApi::limit`], with a `retry-after: <secs>` header besides
    /// (over 60 s, Claude Code on an API key gives up at once instead of
    /// retrying for minutes).
    pub fn limit_retry_after(&self, credential: &str, claim: Claim, reset: u64, secs: u64) {
        let limit = Limit {
            claim,
            reset,
            retry_after: Some(secs),
        };
        lock(&self.inner.limits).insert(credential.to_string(), limit);
    }

    /// From now on, a model turn whose messages contain `text` gets no
    /// answer until [`FakeApi::release`]: its agent stays at work.
    pub fn hold(&self, text: &str) {
        lock(&self.inner.held).push(text.to_string());
    }

    /// Answers the turns held for `text`, and later ones at once.
    pub fn release(&self, text: &str) {
        lock(&self.inner.held).retain(|t| t != text);
    }

    /// From now on every answer to `credential`'s `POST /v1/messages`
    /// carries the account's usage in the unified rate-limit headers, as
    /// Anthropic's API sends them to a subscription.
    pub fn usage(&self, credential: &str, usage: Usage) {
        lock(&self.inner.usage).insert(credential.to_string(), usage);
    }

    /// Only the `POST /v1/messages` requests (model turns).
    pub fn message_requests(&self) -> Vec<RecordedRequest> {
        self.requests()
            .into_iter()
            .filter(RecordedRequest::is_messages)
            .collect()
    }

    /// The model turns that carry a typed or pasted prompt: `POST
    /// /v1/messages` minus the session-title side requests.
    pub fn turn_requests(&self) -> Vec<RecordedRequest> {
        self.message_requests()
            .into_iter()
            .filter(|r| !r.is_title_request())
            .collect()
    }

    /// Stops serving: the listener is closed before this returns (so new
    /// connections are refused) and open keep-alive connections are shut
    /// down. Idempotent.
    pub fn stop(&self) {
        self.inner.stopped.store(true, Ordering::SeqCst);
        if let Some(h) = lock(&self.acceptor).take() {
            let _ = h.join();
        }
        for (_, s) in lock(&self.inner.conns).drain() {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}

impl Drop for FakeApi {
    fn drop(&mut self) {
        self.stop();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn accept_loop(listener: TcpListener, inner: Arc<Inner>) {
    while !inner.stopped.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((stream, _)) => {
                let _ = stream.set_nonblocking(false);
                let _ = stream.set_nodelay(true);
                let id = inner.next_conn.fetch_add(1, Ordering::SeqCst);
                if let Ok(clone) = stream.try_clone() {
                    lock(&inner.conns).insert(id, clone);
                }
                let conn_inner = Arc::clone(&inner);
                let spawned =
                    thread::Builder::new()
                        .name("fake-api-conn".into())
                        .spawn(move || {
                            let _ = serve_connection(stream, &conn_inner);
                            lock(&conn_inner.conns).remove(&id);
                        });
                if spawned.is_err() {
                    lock(&inner.conns).remove(&id);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                thread::sleep(Duration::from_millis(5));
            }
            Err(_) => thread::sleep(Duration::from_millis(5)),
        }
    }
    // `listener` is dropped here: later connections are refused.
}

struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn route(&self) -> &str {
        self.path.split('?').next().unwrap_or("")
    }

    /// The bearer token (a subscription's OAuth token), else the API key.
    fn credential(&self) -> Option<String> {
        self.header("authorization")
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .or_else(|| self.header("x-api-key"))
            .map(|v| v.trim().to_string())
    }
}

fn epoch_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn serve_connection(stream: TcpStream, inner: &Inner) -> io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    loop {
        let req = match read_request(&mut reader, &mut writer)? {
            Some(r) => r,
            None => return Ok(()), // peer closed
        };
        if inner.stopped.load(Ordering::SeqCst) {
            return Ok(());
        }
        let close = req
            .header("connection")
            .map(|v| v.eq_ignore_ascii_case("close"))
            .unwrap_or(false);
        let body_json = serde_json::from_slice::<Value>(&req.body).unwrap_or(Value::Null);
        let credential = req.credential();
        let limit = credential
            .as_ref()
            .and_then(|c| lock(&inner.limits).get(c).copied())
            .filter(|l| epoch_now() < l.reset);
        let refused = limit.is_some() && req.method == "POST" && req.route() == "/v1/messages";
        let n = {
            let mut requests = lock(&inner.requests);
            requests.push(RecordedRequest {
                method: req.method.clone(),
                path: req.path.clone(),
                body: body_json.clone(),
                credential,
                status: if refused { 429 } else { 200 },
            });
            requests.len()
        };
        let messages = body_json["messages"].to_string();
        let held = |inner: &Inner| {
            lock(&inner.held)
                .iter()
                .any(|t| messages.contains(t.as_str()))
        };
        if req.method == "POST" && req.route() == "/v1/messages" {
            // Polled: released, or the stand-in stopped.
            while held(inner) && !inner.stopped.load(Ordering::SeqCst) {
                thread::sleep(Duration::from_millis(20));
            }
        }
        let usage = match (req.method.as_str(), req.route(), &req.credential()) {
            ("POST", "/v1/messages", Some(c)) => lock(&inner.usage).get(c).map(Usage::headers),
            _ => None,
        }
        .unwrap_or_default();
        match limit {
            Some(limit) if refused => refuse(&mut writer, limit, close)?,
            _ => respond(&mut writer, &req, &body_json, n, close, &usage)?,
        }
        if close {
            return Ok(());
        }
    }
}

/// Reads one request; `Ok(None)` on a clean EOF before a request line.
fn read_request(
    reader: &mut BufReader<TcpStream>,
    writer: &mut TcpStream,
) -> io::Result<Option<Request>> {
    let mut line = String::new();
    // Skip stray empty lines between requests (allowed by RFC 9112).
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        if !line.trim().is_empty() {
            break;
        }
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_owned();
    let path = parts.next().unwrap_or("/").to_owned();

    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let h = h.trim_end_matches(['\r', '\n']);
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
    }
    let mut req = Request {
        method,
        path,
        headers,
        body: Vec::new(),
    };

    if req
        .header("expect")
        .map(|v| v.eq_ignore_ascii_case("100-continue"))
        .unwrap_or(false)
    {
        writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
        writer.flush()?;
    }

    let chunked = req
        .header("transfer-encoding")
        .map(|v| v.to_ascii_lowercase().contains("chunked"))
        .unwrap_or(false);
    if chunked {
        req.body = read_chunked(reader)?;
    } else if let Some(len) = req
        .header("content-length")
        .and_then(|v| v.parse::<usize>().ok())
    {
        let mut body = vec![0u8; len];
        reader.read_exact(&mut body)?;
        req.body = body;
    }
    Ok(Some(req))
}

fn read_chunked(reader: &mut BufReader<TcpStream>) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut size_line = String::new();
        if reader.read_line(&mut size_line)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let size_str = size_line.trim().split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_str, 16)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad chunk size"))?;
        if size == 0 {
            // Trailers, up to the empty line.
            loop {
                let mut t = String::new();
                if reader.read_line(&mut t)? == 0 || t.trim().is_empty() {
                    return Ok(body);
                }
            }
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..])?;
        let mut crlf = String::new();
        reader.read_line(&mut crlf)?;
    }
}

/// A model turn of an account at its usage limit, answered as Anthropic's
/// API answers it (the header names as Claude Code 2.1.197 reads them).
fn refuse(w: &mut TcpStream, limit: Limit, close: bool) -> io::Result<()> {
    let body = json!({
        "type": "error",
        "error": {
            "type": "rate_limit_error",
            "message": "This request would exceed your account's rate limit. Please try again later."
        }
    })
    .to_string();
    let head = format!(
        "HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nrequest-id: req_fake_limited\r\n\
         anthropic-ratelimit-unified-status: rejected\r\n\
         anthropic-ratelimit-unified-representative-claim: {}\r\n\
         anthropic-ratelimit-unified-reset: {}\r\n{}Connection: {}\r\n\r\n",
        body.len(),
        limit.claim.header(),
        limit.reset,
        limit
            .retry_after
            .map(|s| format!("retry-after: {s}\r\n"))
            .unwrap_or_default(),
        if close { "close" } else { "keep-alive" }
    );
    w.write_all(head.as_bytes())?;
    w.write_all(body.as_bytes())?;
    w.flush()
}

fn respond(
    w: &mut TcpStream,
    req: &Request,
    body: &Value,
    n: usize,
    close: bool,
    extra_headers: &str,
) -> io::Result<()> {
    let route = req.route();
    let head_only = req.method == "HEAD";
    match (req.method.as_str(), route) {
        ("POST", "/v1/messages") => {
            let text = REPLY.to_owned();
            let model = body
                .get("model")
                .and_then(Value::as_str)
                .unwrap_or("claude-sonnet-4-5")
                .to_owned();
            let id = format!("msg_fake{n:06}");
            if body.get("stream").and_then(Value::as_bool) == Some(true) {
                let sse = sse_body(&id, &model, &text);
                send(
                    w,
                    200,
                    "text/event-stream",
                    sse.as_bytes(),
                    head_only,
                    close,
                    extra_headers,
                )
            } else {
                let msg = json!({
                    "id": id,
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [{"type": "text", "text": text}],
                    "stop_reason": "end_turn",
                    "stop_sequence": null,
                    "usage": {"input_tokens": 10, "output_tokens": 2}
                });
                send(
                    w,
                    200,
                    "application/json",
                    msg.to_string().as_bytes(),
                    head_only,
                    close,
                    extra_headers,
                )
            }
        }
        ("POST", "/v1/messages/count_tokens") => send(
            w,
            200,
            "application/json",
            br#"{"input_tokens":10}"#,
            head_only,
            close,
            "",
        ),
        ("HEAD", _) | ("GET", "/") => send(w, 200, "text/plain", b"ok", head_only, close, ""),
        _ => send(w, 200, "application/json", b"{}", head_only, close, ""),
    }
}

fn sse_body(id: &str, model: &str, text: &str) -> String {
    let events = [
        (
            "message_start",
            json!({"type": "message_start", "message": {
                "id": id, "type": "message", "role": "assistant", "model": model,
                "content": [], "stop_reason": null, "stop_sequence": null,
                "usage": {"input_tokens": 10, "output_tokens": 1}
            }}),
        ),
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 0,
                   "content_block": {"type": "text", "text": ""}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0,
                   "delta": {"type": "text_delta", "text": text}}),
        ),
        (
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 0}),
        ),
        (
            "message_delta",
            json!({"type": "message_delta",
                   "delta": {"stop_reason": "end_turn", "stop_sequence": null},
                   "usage": {"output_tokens": 2}}),
        ),
        ("message_stop", json!({"type": "message_stop"})),
    ];
    let mut out = String::new();
    for (name, data) in events {
        out.push_str("event: ");
        out.push_str(name);
        out.push_str("\ndata: ");
        out.push_str(&data.to_string());
        out.push_str("\n\n");
    }
    out
}

fn send(
    w: &mut TcpStream,
    status: u16,
    content_type: &str,
    body: &[u8],
    head_only: bool,
    close: bool,
    extra_headers: &str,
) -> io::Result<()> {
    let reason = if status == 200 { "OK" } else { "Error" };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Cache-Control: no-cache\r\nrequest-id: req_fake\r\n{extra_headers}Connection: {}\r\n\r\n",
        body.len(),
        if close { "close" } else { "keep-alive" }
    );
    let mut buf = head.into_bytes();
    if !head_only {
        buf.extend_from_slice(body);
    }
    w.write_all(&buf)?;
    w.flush()
}
