//! The governance verbs (docs/GOVERN.md "CLI"): `owner`, `label`, `promote`, `promotions`,
//! `lineage` and (in [`rebuild`]) `rebuild --dependents-of`. Each connects to the registry
//! its IMAGE or REPO names, as `strata pull` does (credentials, registries.conf, certs.d),
//! calls `strata_client::govern`, and prints the answer: a table (or an indented tree) by
//! default, the API's JSON with `--format json`, on stdout.

mod display;
pub mod rebuild;

use anyhow::{bail, Context, Result};
use strata_client::govern::{image_ref, Govern, GovernError};
use strata_client::{Client, Registry};
use strata_distribution::govern::ImageRef;
use strata_distribution::names::RepositoryName;
use strata_oci::Reference;

use crate::cli::{Format, LabelCommand, LineageCommand, OwnerCommand, PromoteArgs, PromotionsArgs};

/// The connected registry of `reference`.
pub(crate) fn connect(client: &Client, reference: &Reference) -> Result<std::sync::Arc<Registry>> {
    let endpoint = client.push_endpoint(reference)?;
    client
        .registry(&endpoint)
        .with_context(|| format!("connecting to {}", reference.registry()))
}

/// A client with the machine's configuration and the registry `reference` names.
fn registry_of(reference: &Reference) -> Result<(Client, std::sync::Arc<Registry>)> {
    let client = Client::from_env().context("reading the registry configuration")?;
    let registry = connect(&client, reference)?;
    Ok((client, registry))
}

fn api_image(reference: &Reference) -> Result<ImageRef> {
    image_ref(reference).with_context(|| format!("{reference}: not an image the registry can name"))
}

fn api_repo(reference: &Reference) -> Result<RepositoryName> {
    reference
        .repository()
        .parse()
        .with_context(|| format!("{reference}: not a repository name"))
}

fn json(value: &impl serde::Serialize) -> Result<()> {
    super::out(serde_json::to_string_pretty(value)?)
}

pub fn owner(command: OwnerCommand) -> Result<()> {
    let (repo, team, format) = match command {
        OwnerCommand::Set { repo, team, format } => (repo, Some(team), format),
        OwnerCommand::Show { repo, format } => (repo, None, format),
    };
    let (_client, registry) = registry_of(&repo.0)?;
    let name = api_repo(&repo.0)?;
    let api = registry.govern();
    let owner = match &team {
        Some(t) => api.set_owner(&name, Some(t)),
        None => api.owner(&name),
    }
    .with_context(|| format!("owner of {}", repo.0))?;
    match format {
        Format::Json => json(&serde_json::json!({
            "repository": repo.0.name(),
            "owner": owner.owner,
        })),
        Format::Table => display::table(&[
            vec!["REPOSITORY".into(), "OWNER".into()],
            vec![repo.0.name(), owner.owner.unwrap_or_else(|| "-".into())],
        ]),
    }
}

pub fn label(command: LabelCommand) -> Result<()> {
    let (image, add, labels, format) = match command {
        LabelCommand::Add {
            image,
            labels,
            format,
        } => (image, Some(true), labels, format),
        LabelCommand::Rm {
            image,
            labels,
            format,
        } => (image, Some(false), labels, format),
        LabelCommand::Ls { image, format } => (image, None, Vec::new(), format),
    };
    for l in &labels {
        if !strata_govern::labels::valid(l) {
            bail!("label {l:?}: [a-z0-9] then [a-z0-9._-], at most 64 bytes");
        }
    }
    let (_client, registry) = registry_of(&image)?;
    let target = api_image(&image)?;
    let api = registry.govern();
    let mut current = None;
    for l in &labels {
        let result = if add == Some(true) {
            api.add_label(&target, l)
        } else {
            api.remove_label(&target, l)
        };
        current = Some(result.with_context(|| format!("label {l} on {image}"))?);
    }
    let current = match current {
        Some(c) => c,
        None => api.image(&target).with_context(|| format!("{image}"))?,
    };
    match format {
        Format::Json => json(&current),
        Format::Table => display::image_labels(&image, &current),
    }
}

pub fn promote(args: PromoteArgs) -> Result<()> {
    if !strata_govern::labels::valid(&args.env) {
        bail!(
            "environment {:?}: [a-z0-9] then [a-z0-9._-], at most 64 bytes",
            args.env
        );
    }
    let (_client, registry) = registry_of(&args.image)?;
    let target = api_image(&args.image)?;
    match registry.govern().promote(&target, &args.env) {
        Ok(p) => match args.format {
            Format::Json => json(&p),
            Format::Table => display::promotions(&[p]),
        },
        Err(GovernError::GateFailed { violations, .. }) => {
            let mut message = format!(
                "promotion of {} to {} refused by the registry's gates:",
                args.image, args.env
            );
            for v in &violations {
                message.push_str(&format!("\n  {}: {}", v.rule, v.message));
            }
            bail!(message)
        }
        Err(e) => Err(e).with_context(|| format!("promoting {} to {}", args.image, args.env)),
    }
}

pub fn promotions(args: PromotionsArgs) -> Result<()> {
    let (_client, registry) = registry_of(&args.repo.0)?;
    let name = api_repo(&args.repo.0)?;
    let list = registry
        .govern()
        .promotions(&name)
        .with_context(|| format!("promotions of {}", args.repo.0))?;
    match args.format {
        Format::Json => json(&list),
        Format::Table => display::promotions(&list.promotions),
    }
}

pub fn lineage(command: LineageCommand) -> Result<()> {
    match command {
        LineageCommand::Tree {
            tree_root,
            registry,
            format,
        } => tree(tree_root, registry, format),
        LineageCommand::Dependents { image, format } => {
            let (_client, registry) = registry_of(&image)?;
            let answer = registry
                .govern()
                .dependents(&api_image(&image)?)
                .with_context(|| format!("dependents of {image}"))?;
            match format {
                Format::Json => json(&answer),
                Format::Table => display::dependents(&answer),
            }
        }
    }
}

fn tree(root: Option<Reference>, host: Option<String>, format: Format) -> Result<()> {
    let reference = match (&root, &host) {
        (Some(r), _) => r.clone(),
        // Any repository of the host: only the host matters for the connection.
        (None, Some(h)) => Reference::parse(&format!("{h}/lineage"))
            .with_context(|| format!("--registry {h}: not a registry host"))?,
        (None, None) => bail!("give a ROOT image or --registry HOST"),
    };
    let (_client, registry) = registry_of(&reference)?;
    let root = root.as_ref().map(api_image).transpose()?;
    let api: Govern<'_> = registry.govern();
    let answer = api
        .lineage_tree(root.as_ref())
        .with_context(|| format!("lineage tree of {}", reference.registry()))?;
    match format {
        Format::Json => json(&answer),
        Format::Table => display::forest(&answer.tree),
    }
}
