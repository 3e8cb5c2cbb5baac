//! Campaigns and communities from links.
//!
//! A campaign is a connected component over strong links: items that share
//! something decisive (the same file, the same C2 URL). A community groups
//! campaigns and lone items joined by weak links (the same registrable
//! domain, a range), found by label propagation weighted by link strength:
//! deterministic, linear in the links, and with no resolution parameter to
//! tune. Both are named after their earliest member, so names stay put when
//! the data grows: a newcomer joins under the old name, and when two merge
//! the older name wins.

use std::collections::BTreeMap;

/// Items joined by strong links.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Campaign {
    /// `cluster:` and the earliest member's id.
    pub id: String,
    /// In the order the items were first indexed.
    pub members: Vec<String>,
}

/// Campaigns and lone items joined by weak links.
#[derive(Debug, Clone, PartialEq)]
pub struct Community {
    /// `community:` and the earliest member's id.
    pub id: String,
    pub members: Vec<String>,
    /// The campaigns wholly inside it.
    pub campaigns: Vec<String>,
    /// Sum of the weak links inside it.
    pub weight: f64,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Clusters {
    pub campaigns: Vec<Campaign>,
    pub communities: Vec<Community>,
}

fn find(parent: &mut [usize], mut x: usize) -> usize {
    while parent[x] != x {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    x
}

/// Clusters of `items` (oldest first) given `links` as (a, b, weight) over
/// their indexes. Links of at least `strong` join campaigns; lighter ones of
/// at least `weak` join communities.
pub fn cluster(
    items: &[String],
    links: &[(usize, usize, f64)],
    strong: f64,
    weak: f64,
) -> Clusters {
    let n = items.len();
    let mut parent: Vec<usize> = (0..n).collect();
    for &(a, b, w) in links {
        if w >= strong && a < n && b < n {
            let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
            if ra != rb {
                // The smaller index (the older item) is the root, and so the name.
                let (keep, merge) = if ra < rb { (ra, rb) } else { (rb, ra) };
                parent[merge] = keep;
            }
        }
    }
    let roots: Vec<usize> = (0..n).map(|i| find(&mut parent, i)).collect();
    let mut components: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, &r) in roots.iter().enumerate() {
        components.entry(r).or_default().push(i);
    }
    let campaign_name = |root: usize| format!("cluster:{}", items[root]);
    let campaigns: Vec<Campaign> = components
        .iter()
        .filter(|(_, m)| m.len() > 1)
        .map(|(&root, m)| Campaign {
            id: campaign_name(root),
            members: m.iter().map(|&i| items[i].clone()).collect(),
        })
        .collect();

    // Weak links between components, summed.
    let mut weak_edges: BTreeMap<(usize, usize), f64> = BTreeMap::new();
    for &(a, b, w) in links {
        if w < strong && w >= weak && a < n && b < n {
            let (ra, rb) = (roots[a], roots[b]);
            if ra != rb {
                *weak_edges.entry((ra.min(rb), ra.max(rb))).or_default() += w;
            }
        }
    }
    let mut neighbours: BTreeMap<usize, Vec<(usize, f64)>> = BTreeMap::new();
    for (&(a, b), &w) in &weak_edges {
        neighbours.entry(a).or_default().push((b, w));
        neighbours.entry(b).or_default().push((a, w));
    }
    // Label propagation: each component takes the label its neighbours
    // weigh most (ties to the oldest label), in a fixed order, until stable.
    let mut label: BTreeMap<usize, usize> = neighbours.keys().map(|&c| (c, c)).collect();
    for _round in 0..32 {
        let mut changed = false;
        for (&c, near) in &neighbours {
            let mut weight: BTreeMap<usize, f64> = BTreeMap::new();
            *weight.entry(label[&c]).or_default() += 0.0;
            for &(other, w) in near {
                *weight.entry(label[&other]).or_default() += w;
            }
            let best = weight
                .iter()
                .max_by(|a, b| a.1.total_cmp(b.1).then_with(|| b.0.cmp(a.0)))
                .map(|(&l, _)| l)
                .expect("its own label");
            if best != label[&c] {
                label.insert(c, best);
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (&c, &l) in &label {
        groups.entry(l).or_default().push(c);
    }
    let mut inner: BTreeMap<usize, f64> = BTreeMap::new();
    for (&(a, b), &w) in &weak_edges {
        if label[&a] == label[&b] {
            *inner.entry(label[&a]).or_default() += w;
        }
    }
    let mut communities = Vec::new();
    for (l, comps) in groups {
        if comps.len() < 2 {
            continue;
        }
        let mut members: Vec<usize> = comps.iter().flat_map(|c| components[c].clone()).collect();
        members.sort_unstable();
        let weight = inner.get(&l).copied().unwrap_or_default();
        communities.push(Community {
            id: format!("community:{}", items[members[0]]),
            members: members.iter().map(|&i| items[i].clone()).collect(),
            campaigns: comps
                .iter()
                .filter(|c| components[c].len() > 1)
                .map(|&c| campaign_name(c))
                .collect(),
            weight,
        });
    }
    communities.sort_by(|a, b| a.id.cmp(&b.id));
    Clusters {
        campaigns,
        communities,
    }
}
