//! TLP 2.0 as PostgreSQL: the same rules as the SQLite store's `visibility.rs`,
//! written for `$n` parameters.

use geneva_store::{StoreError, Viewer};
use tokio_postgres::types::ToSql;

use crate::Param;

/// A dynamic parameter list; `bind` returns the placeholder for a value.
#[derive(Default)]
pub(crate) struct Params(Vec<Param>);

impl Params {
    pub(crate) fn bind(&mut self, value: impl ToSql + Sync + Send + 'static) -> String {
        self.0.push(Box::new(value));
        format!("${}", self.0.len())
    }

    pub(crate) fn refs(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.0
            .iter()
            .map(|p| p.as_ref() as &(dyn ToSql + Sync))
            .collect()
    }
}

pub(crate) async fn groups_of(
    client: &tokio_postgres::Client,
    viewer: &Viewer,
) -> Result<Vec<i64>, StoreError> {
    let Viewer::Member { organisation, .. } = viewer else {
        return Ok(Vec::new());
    };
    let rows = client
        .query(
            "SELECT group_id FROM sharing_group_members WHERE organisation = $1",
            &[organisation],
        )
        .await
        .map_err(crate::backend)?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// Whether the viewer may see the row aliased `v` (a version, or a current-view row).
pub(crate) fn version_visible(
    v: &str,
    viewer: &Viewer,
    groups: &[i64],
    params: &mut Params,
) -> String {
    match viewer {
        Viewer::Operator => "true".to_string(),
        Viewer::Anonymous => format!("{v}.tlp = 'clear'"),
        Viewer::Member { organisation, user } => {
            let org = params.bind(*organisation);
            let user = params.bind(*user);
            let group_clause = if groups.is_empty() {
                String::new()
            } else {
                format!(
                    " OR (r.kind = 'group' AND r.ref_id = ANY({}))",
                    params.bind(groups.to_vec())
                )
            };
            format!(
                "({v}.tlp IN ('clear', 'green') OR {v}.org_id = {org} \
                 OR ({v}.tlp = 'amber' AND EXISTS (SELECT 1 FROM version_recipients r WHERE r.seq = {v}.seq AND \
                     ((r.kind = 'org' AND r.ref_id = {org}){group_clause}))) \
                 OR ({v}.tlp = 'amber+strict' AND EXISTS (SELECT 1 FROM version_recipients r WHERE r.seq = {v}.seq \
                     AND r.kind = 'org' AND r.ref_id = {org})) \
                 OR ({v}.tlp = 'red' AND {user}::BIGINT IS NOT NULL AND EXISTS (SELECT 1 FROM version_recipients r \
                     WHERE r.seq = {v}.seq AND r.kind = 'user' AND r.ref_id = {user})))"
            )
        }
    }
}

/// For the current-view row `c`: the seq of the newest version the viewer may see, or NULL.
pub(crate) fn visible_seq(viewer: &Viewer, groups: &[i64], params: &mut Params) -> String {
    if *viewer == Viewer::Operator {
        return "c.seq".to_string();
    }
    let current = version_visible("c", viewer, groups, params);
    let older = version_visible("v2", viewer, groups, params);
    format!(
        "CASE WHEN {current} THEN c.seq WHEN c.versions > 1 THEN (SELECT v2.seq FROM object_versions v2 \
         WHERE v2.id = c.id AND {older} \
         ORDER BY CASE WHEN v2.version IS NULL THEN '' ELSE v2.version_key END DESC, v2.seq DESC LIMIT 1) END"
    )
}
