//! Unit tests, against real servers on loopback: aiosmtpd (Python) for SMTP, a hyper server for
//! webhooks, `sh` for commands.

mod command;
mod config;
mod email;
mod support;
mod webhook;
