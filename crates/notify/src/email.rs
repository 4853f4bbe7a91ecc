//! The email channel: one plain-text message through an SMTP relay with lettre over rustls.
//!
//! Everything that can be checked without the network (addresses, credentials, the CA file) is
//! checked in [`EmailChannel::new`]; the transport itself is built per delivery because a run
//! sends at most one message, so a connection pool would only hold a socket open for nothing.

use lettre::message::{Mailbox, Mailboxes, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::{EmailConfig, SmtpSecurity};
use crate::error::{DeliveryError, NotifyError};
use crate::report::RunReport;
use crate::secret::SecretString;

/// A validated `[notify.email]`.
#[derive(Debug)]
pub(crate) struct EmailChannel {
    host: String,
    port: u16,
    security: SmtpSecurity,
    /// `Some` only with both `username` and a non-empty password.
    credentials: Option<(String, SecretString)>,
    from: Mailbox,
    to: Mailboxes,
    /// The PEM text of `ca_file`, read once at startup so a missing file is a config error.
    ca_pem: Option<Vec<u8>>,
    timeout_secs: u64,
}

impl EmailChannel {
    pub(crate) fn new(
        config: &EmailConfig,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, NotifyError> {
        let invalid = |reason: String| NotifyError::invalid("email", reason);
        if config.host.trim().is_empty() {
            return Err(invalid(
                "`host` is empty; set it to the SMTP relay's host name".into(),
            ));
        }
        if config.timeout_secs == 0 {
            return Err(invalid("`timeout_secs` must be at least 1".into()));
        }
        let from: Mailbox = config.from.parse().map_err(|e| {
            invalid(format!(
                "`from` = {:?} is not an email address ({e}); write `addr@example.com` or \
                 `Name <addr@example.com>`",
                config.from
            ))
        })?;
        if config.to.is_empty() {
            return Err(invalid("`to` is empty; list at least one recipient".into()));
        }
        let mut to = Mailboxes::new();
        for addr in &config.to {
            let mailbox: Mailbox = addr.parse().map_err(|e| {
                invalid(format!(
                    "`to` entry {addr:?} is not an email address ({e}); write \
                     `addr@example.com` or `Name <addr@example.com>`"
                ))
            })?;
            to.push(mailbox);
        }
        let credentials = match (&config.username, &config.password_env) {
            (None, None) => None,
            (Some(user), Some(var)) => {
                let password = env(var).filter(|p| !p.is_empty()).ok_or_else(|| {
                    NotifyError::MissingSecret {
                        channel: "email",
                        setting: "password_env",
                        var: var.clone(),
                    }
                })?;
                Some((user.clone(), SecretString::new(password)))
            }
            _ => {
                return Err(invalid(
                    "set both `username` and `password_env` (SMTP AUTH), or neither (a relay \
                     that accepts mail without authentication)"
                        .into(),
                ));
            }
        };
        if credentials.is_some() && config.security == SmtpSecurity::None {
            return Err(invalid(
                "`security = \"none\"` would send the password in clear text; use \
                 `security = \"starttls\"` or `\"tls\"`, or drop the credentials"
                    .into(),
            ));
        }
        let ca_pem = match &config.ca_file {
            None => None,
            Some(path) => {
                let pem = std::fs::read(path).map_err(|source| NotifyError::ReadCaFile {
                    path: path.clone(),
                    source,
                })?;
                // lettre accepts a PEM without any certificate and then trusts nothing extra,
                // which would surface only as a handshake failure at the end of a run.
                Certificate::from_pem(&pem)
                    .ok()
                    .filter(|_| pem.windows(17).any(|w| w == b"BEGIN CERTIFICATE"))
                    .ok_or_else(|| {
                        invalid(format!(
                            "`ca_file` {} holds no PEM certificate (`-----BEGIN CERTIFICATE-----`)",
                            path.display()
                        ))
                    })?;
                Some(pem)
            }
        };
        Ok(Self {
            host: config.host.clone(),
            port: config.port(),
            security: config.security,
            credentials,
            from,
            to,
            ca_pem,
            timeout_secs: config.timeout_secs,
        })
    }

    /// `host:port`, for outcomes and logs.
    pub(crate) fn target(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    pub(crate) fn timeout_secs(&self) -> u64 {
        self.timeout_secs
    }

    /// The secret this channel holds, for scrubbing error text.
    pub(crate) fn secret(&self) -> Option<&SecretString> {
        self.credentials.as_ref().map(|(_, p)| p)
    }

    pub(crate) async fn deliver(&self, report: &RunReport) -> Result<(), DeliveryError> {
        let message = Message::builder()
            .from(self.from.clone())
            .mailbox(lettre::message::header::To::from(self.to.clone()))
            .subject(report.subject())
            .header(ContentType::TEXT_PLAIN)
            .body(report.body())
            .map_err(|e| DeliveryError::BuildEmail {
                message: e.to_string(),
            })?;
        let transport = self.transport()?;
        transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| self.smtp_error(&e))
    }

    fn transport(&self) -> Result<AsyncSmtpTransport<Tokio1Executor>, DeliveryError> {
        // `builder_dangerous` only means "no TLS chosen yet"; `tls` below sets the policy, and
        // `Tls::Required` refuses a relay that does not offer STARTTLS.
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&self.host)
            .port(self.port)
            .timeout(Some(std::time::Duration::from_secs(self.timeout_secs)));
        builder = match self.security {
            SmtpSecurity::Starttls => builder.tls(Tls::Required(self.tls_parameters()?)),
            SmtpSecurity::Tls => builder.tls(Tls::Wrapper(self.tls_parameters()?)),
            SmtpSecurity::None => builder.tls(Tls::None),
        };
        if let Some((user, password)) = &self.credentials {
            builder =
                builder.credentials(Credentials::new(user.clone(), password.expose().to_owned()));
        }
        Ok(builder.build())
    }

    fn tls_parameters(&self) -> Result<TlsParameters, DeliveryError> {
        let mut params = TlsParameters::builder(self.host.clone());
        if let Some(pem) = &self.ca_pem {
            let cert = Certificate::from_pem(pem).map_err(|e| self.smtp_error(&e))?;
            params = params.add_root_certificate(cert);
        }
        params.build_rustls().map_err(|e| self.smtp_error(&e))
    }

    fn smtp_error(&self, err: &lettre::transport::smtp::Error) -> DeliveryError {
        DeliveryError::Smtp {
            server: self.target(),
            message: crate::error::error_chain(err),
        }
    }
}
