//! The built-in rules, as data. Coverage follows gitleaks' and Trivy's rule sets (cloud
//! keys, forge and registry tokens, SaaS API keys, private keys, JWTs, generic
//! assignments); the regexes are our own. Each rule has a true positive and a near miss in
//! `rules/tests.rs`.

use base64::Engine;

use super::rule::{Rule, Severity, BASE};

/// A token that stands alone: not glued to letters, digits or `_` on either side.
macro_rules! token {
    ($body:literal) => {
        concat!(
            r"(?:^|[^A-Za-z0-9_])(?P<secret>",
            $body,
            r")(?:[^A-Za-z0-9_]|$)"
        )
    };
}

/// Like [`token!`], where the token may itself hold `-` (so `-` may not border it).
macro_rules! token_dash {
    ($body:literal) => {
        concat!(
            r"(?:^|[^A-Za-z0-9_\-])(?P<secret>",
            $body,
            r")(?:[^A-Za-z0-9_\-]|$)"
        )
    };
}

/// `KEY = "value"` forms: `=`, `:`, `:=`, `=>`, quotes optional.
macro_rules! assigned {
    ($key:literal, $value:literal) => {
        concat!(
            "(?i)",
            $key,
            r#"["']?[ \t]*(?::=|=>|=|:)[ \t]*["'`]?(?P<secret>"#,
            $value,
            r#")(?:["'`;,\s]|$)"#
        )
    };
}

/// Secrets that are documentation or placeholders, for any generic rule.
const PLACEHOLDERS: &[&str] =
    &[r"(?i)example|sample|dummy|fake|placeholder|changeme|change_me|redacted|xxxx|\*\*\*\*"];

/// The built-in rules.
pub static RULES: &[Rule] = &[
    // --- cloud providers --------------------------------------------------------------
    Rule {
        id: "aws-access-key-id",
        title: "AWS Access Key ID",
        severity: Severity::Critical,
        keywords: &[
            "AKIA", "ASIA", "AGPA", "AIDA", "AROA", "AIPA", "ANPA", "ANVA", "A3T",
        ],
        regex: concat!(
            r"(?:^|[^A-Za-z0-9/+])(?P<secret>(?:A3T[A-Z0-9]|AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA)",
            r"[A-Z2-7]{16})(?:[^A-Za-z0-9/+=]|$)"
        ),
        ahead: 24,
        allow_secrets: &["EXAMPLE$"],
        ..BASE
    },
    Rule {
        id: "aws-secret-access-key",
        title: "AWS Secret Access Key",
        severity: Severity::Critical,
        keywords: &["aws"],
        keywords_any_case: true,
        regex: assigned!(
            r"aws[_.\-]?(?:secret)?[_.\-]?(?:access)?[_.\-]?key",
            r"[A-Za-z0-9/+]{40}"
        ),
        ahead: 120,
        min_entropy: 4.0,
        allow_secrets: &["EXAMPLEKEY$"],
        ..BASE
    },
    Rule {
        id: "gcp-service-account",
        title: "Google Cloud service account key",
        severity: Severity::Critical,
        keywords: &["private_key_id"],
        regex: r#""private_key_id"[ \t]*:[ \t]*"(?P<secret>[a-f0-9]{40})""#,
        ahead: 80,
        min_entropy: 3.0,
        ..BASE
    },
    Rule {
        id: "gcp-api-key",
        title: "Google API key",
        severity: Severity::High,
        keywords: &["AIza"],
        regex: token_dash!(r"AIza[A-Za-z0-9_\-]{35}"),
        ahead: 41,
        min_entropy: 3.5,
        ..BASE
    },
    Rule {
        id: "azure-storage-account-key",
        title: "Azure storage account key (connection string)",
        severity: Severity::Critical,
        keywords: &["AccountKey"],
        keywords_any_case: true,
        regex: r"(?i)AccountKey[ \t]*=[ \t]*(?P<secret>[A-Za-z0-9+/]{86}==)",
        ahead: 110,
        min_entropy: 4.0,
        ..BASE
    },
    Rule {
        id: "azure-shared-access-key",
        title: "Azure shared access key (Service Bus, Event Hubs, IoT connection string)",
        severity: Severity::Critical,
        keywords: &["SharedAccessKey"],
        keywords_any_case: true,
        regex: r"(?i)SharedAccessKey[ \t]*=[ \t]*(?P<secret>[A-Za-z0-9+/]{42,43}=)",
        ahead: 80,
        min_entropy: 4.0,
        ..BASE
    },
    Rule {
        id: "azure-ad-client-secret",
        title: "Azure AD (Entra ID) client secret",
        severity: Severity::High,
        keywords: &["Q~"],
        regex: concat!(
            r"(?:^|[^A-Za-z0-9_~.\-])(?P<secret>[A-Za-z0-9_~.]{3}[0-9]Q~[A-Za-z0-9_~.\-]{31,34})",
            r"(?:[^A-Za-z0-9_~.\-]|$)"
        ),
        back: 5,
        ahead: 40,
        min_entropy: 3.5,
        ..BASE
    },
    // --- forges -----------------------------------------------------------------------
    Rule {
        id: "github-pat",
        title: "GitHub personal access token",
        severity: Severity::Critical,
        keywords: &["ghp_"],
        regex: token!(r"ghp_[A-Za-z0-9]{36}"),
        ahead: 42,
        min_entropy: 3.0,
        ..BASE
    },
    Rule {
        id: "github-oauth",
        title: "GitHub OAuth access token",
        severity: Severity::Critical,
        keywords: &["gho_"],
        regex: token!(r"gho_[A-Za-z0-9]{36}"),
        ahead: 42,
        min_entropy: 3.0,
        ..BASE
    },
    Rule {
        id: "github-app-token",
        title: "GitHub App token",
        severity: Severity::Critical,
        keywords: &["ghu_", "ghs_"],
        regex: token!(r"gh[us]_[A-Za-z0-9]{36}"),
        ahead: 42,
        min_entropy: 3.0,
        ..BASE
    },
    Rule {
        id: "github-refresh-token",
        title: "GitHub refresh token",
        severity: Severity::Critical,
        keywords: &["ghr_"],
        regex: token!(r"ghr_[A-Za-z0-9]{36,76}"),
        ahead: 82,
        min_entropy: 3.0,
        ..BASE
    },
    Rule {
        id: "github-fine-grained-pat",
        title: "GitHub fine-grained personal access token",
        severity: Severity::Critical,
        keywords: &["github_pat_"],
        regex: token!(r"github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}"),
        ahead: 96,
        min_entropy: 3.0,
        ..BASE
    },
    Rule {
        id: "gitlab-pat",
        title: "GitLab personal access token",
        severity: Severity::Critical,
        keywords: &["glpat-"],
        regex: token_dash!(r"glpat-[A-Za-z0-9_\-]{20,300}(?:\.[0-9a-z]{2}\.[0-9a-z]{9})?"),
        ahead: 330,
        min_entropy: 3.0,
        ..BASE
    },
    Rule {
        id: "gitlab-token",
        title: "GitLab token (pipeline trigger, deploy, runner, CI job, feed, OAuth)",
        severity: Severity::High,
        keywords: &[
            "glptt-",
            "gldt-",
            "glrt-",
            "glcbt-",
            "glft-",
            "glimt-",
            "glagent-",
            "gloas-",
            "glsoat-",
            "GR1348941",
        ],
        regex: token_dash!(
            r"(?:(?:glptt|gldt|glrt|glcbt|glft|glimt|glagent|gloas|glsoat)-|GR1348941)[A-Za-z0-9_\-]{20,300}"
        ),
        ahead: 330,
        min_entropy: 3.0,
        ..BASE
    },
    Rule {
        id: "atlassian-api-token",
        title: "Atlassian API token",
        severity: Severity::High,
        keywords: &["ATATT3"],
        regex: token_dash!(r"ATATT3[A-Za-z0-9_\-=]{180,200}"),
        ahead: 210,
        min_entropy: 3.5,
        ..BASE
    },
    Rule {
        id: "bitbucket-app-password",
        title: "Bitbucket app password or access token",
        severity: Severity::High,
        keywords: &["ATBB", "ATCTT3"],
        regex: token_dash!(r"(?:ATBB[A-Za-z0-9_=.\-]{32,40}|ATCTT3[A-Za-z0-9_\-=]{180,200})"),
        ahead: 210,
        min_entropy: 3.5,
        ..BASE
    },
    Rule {
        id: "bitbucket-client-secret",
        title: "Bitbucket OAuth client secret",
        severity: Severity::High,
        keywords: &["bitbucket"],
        keywords_any_case: true,
        regex: assigned!(
            r"bitbucket[A-Za-z0-9_.\-]{0,25}(?:secret|key)",
            r"[A-Za-z0-9_\-]{32,64}"
        ),
        ahead: 140,
        min_entropy: 3.5,
        allow_secrets: PLACEHOLDERS,
        ..BASE
    },
    // --- registries and package indexes -------------------------------------------------
    Rule {
        id: "docker-hub-pat",
        title: "Docker Hub access token",
        severity: Severity::Critical,
        keywords: &["dckr_pat_", "dckr_oat_"],
        regex: token_dash!(r"dckr_(?:pat|oat)_[A-Za-z0-9_\-]{27,64}"),
        ahead: 80,
        min_entropy: 3.0,
        ..BASE
    },
    Rule {
        id: "docker-config-auth",
        title: "Registry credential in a docker config.json (auths.*.auth)",
        severity: Severity::Critical,
        keywords: &["\"auth\""],
        regex: r#""auth"[ \t]*:[ \t]*"(?P<secret>[A-Za-z0-9+/]{4,1000}={0,2})""#,
        ahead: 1024,
        check: Some(user_colon_password),
        ..BASE
    },
    Rule {
        id: "npm-access-token",
        title: "npm access token",
        severity: Severity::Critical,
        keywords: &["npm_"],
        regex: token!(r"npm_[A-Za-z0-9]{36}"),
        ahead: 42,
        min_entropy: 3.5,
        ..BASE
    },
    Rule {
        id: "npmrc-auth",
        title: "npm registry credential (.npmrc _authToken, _auth, _password)",
        severity: Severity::Critical,
        keywords: &["_authToken", "_auth", "_password"],
        regex: concat!(
            r#"(?:^|[^A-Za-z0-9_.])(?:_authToken|_auth|_password)[ \t]*=[ \t]*["']?"#,
            r#"(?P<secret>[A-Za-z0-9+/=_\-.:]{16,512})["']?(?:[ \t\r\n]|$)"#
        ),
        back: 2,
        ahead: 560,
        min_entropy: 3.0,
        allow_secrets: PLACEHOLDERS,
        ..BASE
    },
    Rule {
        id: "pypi-upload-token",
        title: "PyPI upload token",
        severity: Severity::High,
        keywords: &["pypi-AgEIcHlwaS5vcmc", "pypi-AgENdGVzdC5weXBpLm9yZw"],
        regex: token_dash!(r"pypi-AgE(?:IcHlwaS5vcmc|NdGVzdC5weXBpLm9yZw)[A-Za-z0-9_\-]{50,1000}"),
        ahead: 1040,
        ..BASE
    },
    Rule {
        id: "rubygems-api-key",
        title: "RubyGems API key",
        severity: Severity::High,
        keywords: &["rubygems_"],
        regex: token!(r"rubygems_[a-f0-9]{48}"),
        ahead: 60,
        min_entropy: 3.0,
        ..BASE
    },
    // --- SaaS APIs ----------------------------------------------------------------------
    Rule {
        id: "slack-token",
        title: "Slack token",
        severity: Severity::High,
        keywords: &["xoxb-", "xoxp-", "xoxa-", "xoxr-", "xoxs-", "xoxe-"],
        regex: token_dash!(r"xox[baprse](?:\.[a-z0-9]{1,8})?-[0-9]{6,}-[A-Za-z0-9\-]{10,250}"),
        ahead: 280,
        min_entropy: 3.0,
        ..BASE
    },
    Rule {
        id: "slack-app-token",
        title: "Slack app-level token",
        severity: Severity::High,
        keywords: &["xapp-"],
        regex: token_dash!(r"(?i)xapp-[0-9]-[A-Z0-9]{8,}-[0-9]{8,}-[a-z0-9]{16,}"),
        ahead: 200,
        ..BASE
    },
    Rule {
        id: "slack-webhook",
        title: "Slack incoming webhook",
        severity: Severity::Medium,
        keywords: &["hooks.slack.com"],
        regex: r"https?://hooks\.slack\.com/(?:services|workflows|triggers)/(?P<secret>[A-Za-z0-9+/]{43,56})",
        back: 10,
        ahead: 120,
        allow_secrets: &["XXXXXXXX", "T00000000/B00000000"],
        ..BASE
    },
    Rule {
        id: "stripe-secret-key",
        title: "Stripe secret or restricted key",
        severity: Severity::Critical,
        keywords: &["sk_live_", "sk_test_", "rk_live_", "rk_test_"],
        regex: token!(r"[rs]k_(?:live|test)_[A-Za-z0-9]{10,99}"),
        ahead: 110,
        min_entropy: 3.0,
        ..BASE
    },
    Rule {
        id: "twilio-api-key",
        title: "Twilio API key",
        severity: Severity::Medium,
        keywords: &["SK"],
        regex: token!(r"SK[0-9a-fA-F]{32}"),
        ahead: 36,
        min_entropy: 3.0,
        ..BASE
    },
    Rule {
        id: "sendgrid-api-key",
        title: "SendGrid API key",
        severity: Severity::High,
        keywords: &["SG."],
        regex: token_dash!(r"SG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43}"),
        ahead: 72,
        min_entropy: 3.5,
        ..BASE
    },
    Rule {
        id: "openai-api-key",
        title: "OpenAI API key",
        severity: Severity::Critical,
        keywords: &["T3BlbkFJ"],
        regex: token_dash!(
            r"sk-(?:(?:proj|svcacct|admin)-)?[A-Za-z0-9_\-]{20,74}T3BlbkFJ[A-Za-z0-9_\-]{20,74}"
        ),
        back: 100,
        ahead: 90,
        ..BASE
    },
    Rule {
        id: "anthropic-api-key",
        title: "Anthropic API key",
        severity: Severity::Critical,
        keywords: &["sk-ant-"],
        regex: token_dash!(r"sk-ant-(?:api|admin|oat)[0-9]{2}-[A-Za-z0-9_\-]{80,110}"),
        ahead: 130,
        min_entropy: 3.5,
        ..BASE
    },
    Rule {
        id: "hugging-face-token",
        title: "Hugging Face access token",
        severity: Severity::Critical,
        keywords: &["hf_", "api_org_"],
        regex: token!(r"(?:hf_|api_org_)[A-Za-z0-9]{34,40}"),
        ahead: 50,
        min_entropy: 3.5,
        ..BASE
    },
    Rule {
        id: "shopify-token",
        title: "Shopify token",
        severity: Severity::High,
        keywords: &["shpat_", "shpca_", "shppa_", "shpss_"],
        regex: token!(r"shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}"),
        ahead: 40,
        min_entropy: 3.0,
        ..BASE
    },
    Rule {
        id: "digitalocean-token",
        title: "DigitalOcean token",
        severity: Severity::High,
        keywords: &["dop_v1_", "doo_v1_", "dor_v1_"],
        regex: token!(r"do[opr]_v1_[a-f0-9]{64}"),
        ahead: 72,
        min_entropy: 3.0,
        ..BASE
    },
    Rule {
        id: "doppler-token",
        title: "Doppler API token",
        severity: Severity::High,
        keywords: &["dp.pt."],
        regex: token!(r"dp\.pt\.[A-Za-z0-9]{43}"),
        ahead: 52,
        min_entropy: 3.5,
        ..BASE
    },
    Rule {
        id: "dynatrace-token",
        title: "Dynatrace API token",
        severity: Severity::High,
        keywords: &["dt0c01."],
        regex: token!(r"dt0c01\.[A-Z0-9]{24}\.[A-Z0-9]{64}"),
        ahead: 100,
        ..BASE
    },
    Rule {
        id: "grafana-token",
        title: "Grafana Cloud or service account token",
        severity: Severity::High,
        keywords: &["glc_", "glsa_"],
        regex: token!(r"(?:glc_[A-Za-z0-9+/]{32,400}={0,2}|glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8})"),
        ahead: 420,
        min_entropy: 3.5,
        ..BASE
    },
    Rule {
        id: "linear-api-key",
        title: "Linear API key",
        severity: Severity::High,
        keywords: &["lin_api_"],
        regex: token!(r"lin_api_[A-Za-z0-9]{40}"),
        ahead: 52,
        min_entropy: 3.5,
        ..BASE
    },
    Rule {
        id: "new-relic-user-api-key",
        title: "New Relic user API key",
        severity: Severity::High,
        keywords: &["NRAK-"],
        regex: token_dash!(r"NRAK-[A-Z0-9]{27}"),
        ahead: 36,
        min_entropy: 3.0,
        ..BASE
    },
    Rule {
        id: "postman-api-key",
        title: "Postman API key",
        severity: Severity::High,
        keywords: &["PMAK-"],
        regex: token_dash!(r"PMAK-[a-fA-F0-9]{24}-[a-fA-F0-9]{34}"),
        ahead: 70,
        min_entropy: 3.0,
        ..BASE
    },
    Rule {
        id: "pulumi-api-token",
        title: "Pulumi access token",
        severity: Severity::High,
        keywords: &["pul-"],
        regex: token_dash!(r"pul-[a-f0-9]{40}"),
        ahead: 50,
        min_entropy: 3.0,
        ..BASE
    },
    Rule {
        id: "databricks-token",
        title: "Databricks API token",
        severity: Severity::High,
        keywords: &["dapi"],
        regex: token_dash!(r"dapi[a-f0-9]{32}(?:-[0-9])?"),
        ahead: 42,
        min_entropy: 3.0,
        ..BASE
    },
    Rule {
        id: "sendinblue-api-key",
        title: "Brevo (Sendinblue) API key",
        severity: Severity::High,
        keywords: &["xkeysib-"],
        regex: token_dash!(r"xkeysib-[a-f0-9]{64}-[A-Za-z0-9]{16}"),
        ahead: 96,
        ..BASE
    },
    Rule {
        id: "age-secret-key",
        title: "age secret key",
        severity: Severity::High,
        keywords: &["AGE-SECRET-KEY-1"],
        regex: token_dash!(r"AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}"),
        ahead: 80,
        ..BASE
    },
    // --- secret stores ------------------------------------------------------------------
    Rule {
        id: "vault-token",
        title: "HashiCorp Vault token",
        severity: Severity::Critical,
        keywords: &["hvs.", "hvb."],
        regex: token_dash!(r"hv[sb]\.[A-Za-z0-9_\-]{24,300}"),
        ahead: 310,
        min_entropy: 3.5,
        ..BASE
    },
    Rule {
        id: "terraform-cloud-token",
        title: "HashiCorp Terraform Cloud API token",
        severity: Severity::High,
        keywords: &[".atlasv1."],
        regex: token_dash!(r"[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_\-=]{60,70}"),
        back: 15,
        ahead: 82,
        min_entropy: 3.5,
        ..BASE
    },
    // --- keys and tokens by shape -------------------------------------------------------
    Rule {
        id: "private-key",
        title: "Asymmetric private key (RSA, EC, DSA, OpenSSH, PGP, PKCS#8)",
        severity: Severity::High,
        keywords: &["PRIVATE KEY"],
        // The body may be on one line with `\n` escapes (JSON, ENV values).
        regex: concat!(
            r"-----BEGIN[ A-Z0-9_]{0,30}PRIVATE KEY(?: BLOCK)?-----(?:\\[rn]|\s)*",
            // PEM and PGP armour headers (`Proc-Type: 4,ENCRYPTED`, `Version: …`).
            r"(?:[A-Z][A-Za-z\-]+:[^\r\n]*\r?\n)*(?:\\[rn]|\s)*",
            r"(?P<secret>[A-Za-z0-9+/=\\:,.()_\s\-]{64,}?)-----END[ A-Z0-9_]{0,30}PRIVATE KEY"
        ),
        back: 48,
        ahead: super::MAX_AHEAD,
        // Example keys in the documentation of Debian's Perl TLS modules.
        allow_known: &[
            (
                "usr/share/doc/libnet-ssleay-perl/examples/server_key.pem",
                "wav+t55gSrsCnvgeikRqcQKXuUeXEqEc",
            ),
            (
                "usr/share/doc/libio-socket-ssl-perl/examples/simulate_proxy.pl",
                "MIICdgIBADANBgkqhkiG9w0BAQEFAASCAmAwggJcAgEAAoGBAMEP2gFJ",
            ),
        ],
        ..BASE
    },
    Rule {
        id: "jwt",
        title: "JSON Web Token",
        severity: Severity::Medium,
        keywords: &["eyJ"],
        regex: token_dash!(r"eyJ[A-Za-z0-9_\-]{10,}\.eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}"),
        ahead: 4096,
        check: Some(jwt_header),
        ..BASE
    },
    Rule {
        id: "generic-secret",
        title: "Generic secret assignment (password, secret, token, API key)",
        severity: Severity::Medium,
        keywords: &[
            "password",
            "passwd",
            "passphrase",
            "secret",
            "token",
            "api_key",
            "apikey",
            "api-key",
            "access_key",
            "accesskey",
            "private_key",
            "credential",
        ],
        keywords_any_case: true,
        regex: concat!(
            r#"(?i)(?:^|[^A-Za-z0-9_.\-])[A-Za-z0-9_.\-]{0,40}"#,
            r#"(?:passw(?:or)?d|passphrase|secret|token|api[_\-]?key|access[_\-]?key|private[_\-]?key|credentials?)"#,
            r#"[A-Za-z0-9_\-]{0,20}["']?[ \t]*(?::=|=>|=|:)[ \t]*["'`]?"#,
            r#"(?P<secret>[A-Za-z0-9!#&*+\-./?@^_|~=]{12,128})(?:["'`;,\s]|$)"#
        ),
        back: 64,
        ahead: 220,
        min_entropy: 3.5,
        allow_secrets: PLACEHOLDERS,
        check: Some(generic_value),
        fallback: true,
        ..BASE
    },
];

/// docker's `auth`: base64 of `user:password`, both parts present and printable.
fn user_colon_password(secret: &[u8]) -> bool {
    let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(secret) else {
        return false;
    };
    let Some(colon) = raw.iter().position(|&b| b == b':') else {
        return false;
    };
    let printable = raw.iter().all(|b| (0x20..0x7f).contains(b));
    printable && colon > 0 && colon + 1 < raw.len()
}

/// A JWT's header: base64url JSON naming its algorithm.
fn jwt_header(secret: &[u8]) -> bool {
    let header = secret.split(|&b| b == b'.').next().unwrap_or_default();
    let Ok(raw) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header) else {
        return false;
    };
    raw.starts_with(b"{") && memchr::memmem::find(&raw, b"\"alg\"").is_some()
}

/// Words that make a generic value a reference, an identifier or prose, not a secret.
const NOT_SECRET_WORDS: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "token",
    "example",
    "sample",
    "dummy",
    "fake",
    "test",
    "placeholder",
    "changeme",
    "change_me",
    "your",
    "redacted",
    "null",
    "none",
    "undefined",
    "true",
    "false",
    "self.",
    "this.",
    "env.",
    "environ",
    "getenv",
    "process.",
    "config.",
    "settings.",
    "args.",
    "options.",
    "opts.",
    "kwargs",
    "request.",
    "params",
    "http",
    "localhost",
    "xxx",
];

/// A generic assignment's value looks random: letters and digits mixed, no word that makes
/// it code or prose, not a path.
fn generic_value(secret: &[u8]) -> bool {
    let has_digit = secret.iter().any(u8::is_ascii_digit);
    let has_alpha = secret.iter().any(u8::is_ascii_alphabetic);
    if !has_digit || !has_alpha || matches!(secret.first(), Some(b'/' | b'.' | b'-')) {
        return false;
    }
    if is_member_access(secret) {
        return false;
    }
    let lower = secret.to_ascii_lowercase();
    !NOT_SECRET_WORDS
        .iter()
        .any(|w| memchr::memmem::find(&lower, w.as_bytes()).is_some())
}

/// `messages_1.Messages.MissingFromClause`: code reading a field, not a value.
fn is_member_access(value: &[u8]) -> bool {
    let ident = |part: &[u8]| {
        part.first()
            .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_')
            && part.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_')
    };
    let parts: Vec<&[u8]> = value.split(|&b| b == b'.').collect();
    parts.len() > 1 && parts.iter().all(|p| ident(p))
}

#[cfg(test)]
mod tests;
