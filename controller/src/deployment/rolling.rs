//! RollingUpdate: move replicas from the old ReplicaSets to the new one a few at a time.
//!
//! Two numbers bound every step, both resolved against `spec.replicas` ([`resolve_fenceposts`]):
//!
//! - **maxSurge**: how many pods may exist above `replicas` (a percentage rounds *up*, so 25% of
//!   3 allows 1 extra pod);
//! - **maxUnavailable**: how many of `replicas` may be unavailable (rounds *down*: 25% of 3 is 0,
//!   so with these defaults a 3-replica rollout never drops below 3 available pods).
//!
//! Each reconcile takes one step and returns; the next event (a pod becoming available, a
//! ReplicaSet's status changing) triggers the next step:
//!
//! 1. Scale the new ReplicaSet **up** as far as `replicas + maxSurge` total pods allow.
//! 2. Otherwise scale old ReplicaSets **down**, first their unavailable pods (losing those costs
//!    nothing), then available ones, never leaving fewer than `replicas - maxUnavailable`
//!    available pods.
//! 3. Otherwise the rollout is complete or waiting for pods to become available.
//!
//! The arithmetic is pure ([`new_rs_replicas`], [`plan_old_scale_down`]) and tested on many
//! cases, including a simulated rollout that checks the bounds after every step.

use kubelab_api::apps::{Deployment, ReplicaSet};
use kubelab_api::intstr::IntOrString;

use super::{available, spec_replicas, DeploymentController, DeploymentError, Work};
use crate::runtime::Action;

pub fn is_rolling(d: &Deployment) -> bool {
    d.spec
        .strategy
        .as_ref()
        .and_then(|s| s.type_.as_deref())
        .unwrap_or("RollingUpdate")
        == "RollingUpdate"
}

pub fn replicas(d: &Deployment) -> i32 {
    d.spec.replicas.unwrap_or(1).max(0)
}

/// `(maxSurge, maxUnavailable)` as pod counts for `desired` replicas. Both zero would freeze the
/// rollout, so then one pod may be unavailable, as in Kubernetes.
pub fn resolve_fenceposts(surge: Option<&IntOrString>, unavailable: Option<&IntOrString>, desired: i32) -> (i32, i32) {
    let default = IntOrString::from("25%");
    let surge = surge
        .unwrap_or(&default)
        .scaled_value(desired, true)
        .unwrap_or(0)
        .max(0);
    let unavailable = unavailable
        .unwrap_or(&default)
        .scaled_value(desired, false)
        .unwrap_or(0)
        .max(0);
    if surge == 0 && unavailable == 0 {
        return (0, 1);
    }
    (surge, unavailable)
}

fn fenceposts(d: &Deployment) -> (i32, i32) {
    let rolling = d.spec.strategy.as_ref().and_then(|s| s.rolling_update.as_ref());
    resolve_fenceposts(
        rolling.and_then(|r| r.max_surge.as_ref()),
        rolling.and_then(|r| r.max_unavailable.as_ref()),
        replicas(d),
    )
}

/// Pods allowed above `replicas` (0 for Recreate).
pub fn max_surge(d: &Deployment) -> i32 {
    if !is_rolling(d) {
        return 0;
    }
    fenceposts(d).0
}

/// Pods of `replicas` allowed to be unavailable (0 for Recreate, never more than `replicas`).
pub fn max_unavailable(d: &Deployment) -> i32 {
    if !is_rolling(d) || replicas(d) == 0 {
        return 0;
    }
    fenceposts(d).1.min(replicas(d))
}

/// The size the new ReplicaSet (now `new_size`) may grow to, given all ReplicaSets' sizes
/// (`all` includes the new one, if it exists). Recreate: straight to `replicas`.
pub fn new_rs_replicas(d: &Deployment, all: &[ReplicaSet], new_size: i32) -> i32 {
    let desired = replicas(d);
    if !is_rolling(d) {
        return desired;
    }
    let current: i32 = all.iter().map(spec_replicas).sum();
    let max_total = desired + max_surge(d);
    if current >= max_total {
        return new_size;
    }
    let room = (max_total - current).min(desired - new_size).max(0);
    new_size + room
}

/// Step 1: the new ReplicaSet's next size, if it should change.
pub fn plan_new_rs(d: &Deployment, all: &[ReplicaSet], new: &ReplicaSet) -> Option<i32> {
    let desired = replicas(d);
    let size = spec_replicas(new);
    if size == desired {
        return None;
    }
    if size > desired {
        return Some(desired);
    }
    let next = new_rs_replicas(d, all, size);
    (next != size).then_some(next)
}

/// Available pods a ReplicaSet can be counted on for: never more than it wants. Right after a
/// scale-down its status may still count pods that are about to be deleted; trusting that stale
/// number would let the next step scale down too far.
fn available_capped(rs: &ReplicaSet) -> i32 {
    available(rs).min(spec_replicas(rs))
}

/// Step 2: the old ReplicaSets' next sizes, `(name, size)` for those that change. `old` is
/// ordered oldest first (the caller sorts), so the oldest versions go first.
pub fn plan_old_scale_down(d: &Deployment, old: &[ReplicaSet], new: &ReplicaSet) -> Vec<(String, i32)> {
    let old_total: i32 = old.iter().map(spec_replicas).sum();
    if old_total == 0 {
        return Vec::new();
    }
    let all_total = old_total + spec_replicas(new);
    let min_available = replicas(d) - max_unavailable(d);
    // Pods of the new ReplicaSet that are not available yet may never become so (a bad image):
    // count them as missing already.
    let new_unavailable = (spec_replicas(new) - available_capped(new)).max(0);
    let max_scaled_down = all_total - min_available - new_unavailable;
    if max_scaled_down <= 0 {
        return Vec::new();
    }
    let mut sizes: Vec<i32> = old.iter().map(spec_replicas).collect();

    // 2a. Unavailable old pods first: removing them does not lower availability.
    let mut cleaned = 0;
    for (rs, size) in old.iter().zip(sizes.iter_mut()) {
        if cleaned >= max_scaled_down {
            break;
        }
        let unhealthy = *size - available_capped(rs);
        if *size == 0 || unhealthy <= 0 {
            continue;
        }
        let n = (max_scaled_down - cleaned).min(unhealthy);
        *size -= n;
        cleaned += n;
    }

    // 2b. Then available ones, down to `replicas - maxUnavailable` available pods in all.
    let available_total: i32 = old.iter().map(available_capped).sum::<i32>() + available_capped(new);
    if available_total > min_available {
        let to_scale_down = available_total - min_available;
        let mut scaled = 0;
        for size in sizes.iter_mut() {
            if scaled >= to_scale_down {
                break;
            }
            if *size == 0 {
                continue;
            }
            let n = (*size).min(to_scale_down - scaled);
            *size -= n;
            scaled += n;
        }
    }

    old.iter()
        .zip(sizes)
        .filter(|(rs, size)| spec_replicas(rs) != *size)
        .map(|(rs, size)| (rs.metadata.name().to_string(), size))
        .collect()
}

impl DeploymentController {
    /// One step of a rolling update (see the module docs).
    pub(crate) async fn rollout_rolling(
        &self,
        work: &mut Work,
        rs_list: Vec<ReplicaSet>,
    ) -> Result<Action, DeploymentError> {
        let (new, mut old) = self.get_all_replica_sets(work, rs_list, true).await?;
        let Some(mut new) = new else {
            return Err(DeploymentError::NoNewReplicaSet(work.key.clone()));
        };
        let all: Vec<ReplicaSet> = old.iter().cloned().chain(std::iter::once(new.clone())).collect();
        if let Some(size) = plan_new_rs(&work.d, &all, &new) {
            new = self.scale_replica_set(&work.d, &new, size).await?;
            return self.sync_rollout_status(work, &old, Some(&new)).await;
        }
        super::sort_oldest_first(&mut old);
        let plan = plan_old_scale_down(&work.d, &old, &new);
        if !plan.is_empty() {
            for (name, size) in plan {
                if let Some(rs) = old.iter_mut().find(|rs| rs.metadata.name() == name) {
                    *rs = self.scale_replica_set(&work.d, rs, size).await?;
                }
            }
            return self.sync_rollout_status(work, &old, Some(&new)).await;
        }
        if super::progress::deployment_complete(&work.d, work.d.status.as_ref()) {
            self.cleanup_history(&work.d, &old).await?;
        }
        self.sync_rollout_status(work, &old, Some(&new)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment(replicas: i32, surge: IntOrString, unavailable: IntOrString) -> Deployment {
        serde_json::from_value(json!({
            "metadata": {"name": "web"},
            "spec": {"replicas": replicas, "strategy": {"type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}}},
        }))
        .unwrap()
    }

    fn rs(name: &str, replicas: i32, available: i32) -> ReplicaSet {
        serde_json::from_value(json!({
            "metadata": {"name": name},
            "spec": {"replicas": replicas},
            "status": {"replicas": replicas, "availableReplicas": available, "readyReplicas": available},
        }))
        .unwrap()
    }

    #[test]
    fn fenceposts_round_like_kubernetes() {
        let p = |s: &str| IntOrString::from(s);
        let i = IntOrString::Int;
        // (surge, unavailable, desired) -> (surge, unavailable)
        let cases = [
            (p("25%"), p("25%"), 3, (1, 0)),
            (p("25%"), p("25%"), 4, (1, 1)),
            (p("25%"), p("25%"), 10, (3, 2)),
            (p("25%"), p("25%"), 1, (1, 0)),
            (p("25%"), p("25%"), 0, (0, 1)),
            (i(0), i(0), 5, (0, 1)),
            (p("0%"), p("0%"), 5, (0, 1)),
            (i(2), i(1), 5, (2, 1)),
            (p("50%"), p("50%"), 5, (3, 2)),
            (p("100%"), p("0%"), 7, (7, 0)),
            (p("10%"), p("10%"), 9, (1, 0)),
        ];
        for (surge, unavailable, desired, expected) in cases {
            assert_eq!(
                resolve_fenceposts(Some(&surge), Some(&unavailable), desired),
                expected,
                "surge {surge} unavailable {unavailable} desired {desired}"
            );
        }
        let d = deployment(2, IntOrString::Int(0), IntOrString::Int(5));
        assert_eq!(max_unavailable(&d), 2, "capped at replicas");
    }

    #[test]
    fn new_rs_grows_within_surge() {
        let d = deployment(3, IntOrString::from("25%"), IntOrString::from("25%"));
        // Fresh rollout: 3 old, new at 0, surge 1 → new may go to 1.
        let old = rs("old", 3, 3);
        let new = rs("new", 0, 0);
        assert_eq!(plan_new_rs(&d, &[old.clone(), new.clone()], &new), Some(1));
        // Already at the surge limit: wait.
        let new = rs("new", 1, 0);
        assert_eq!(plan_new_rs(&d, &[old, new.clone()], &new), None);
        // Old shrank to 2: new may go to 2.
        let old = rs("old", 2, 2);
        assert_eq!(plan_new_rs(&d, &[old, new.clone()], &new), Some(2));
        // Too big (scaled down the Deployment): straight down.
        let new = rs("new", 5, 5);
        assert_eq!(plan_new_rs(&d, std::slice::from_ref(&new), &new), Some(3));
        // Recreate goes to replicas at once.
        let mut recreate = d.clone();
        recreate.spec.strategy = serde_json::from_value(json!({"type": "Recreate"})).unwrap();
        let new = rs("new", 0, 0);
        assert_eq!(plan_new_rs(&recreate, &[rs("old", 3, 3), new.clone()], &new), Some(3));
    }

    #[test]
    fn old_scale_down_keeps_availability() {
        let d = deployment(3, IntOrString::from("25%"), IntOrString::from("25%"));
        // New has 1 pod not yet available: nothing may go (3 available needed, 3 old available).
        assert!(plan_old_scale_down(&d, &[rs("old", 3, 3)], &rs("new", 1, 0)).is_empty());
        // New pod available: one old may go.
        assert_eq!(
            plan_old_scale_down(&d, &[rs("old", 3, 3)], &rs("new", 1, 1)),
            [("old".to_string(), 2)]
        );
        // Unavailable old pods go first, even when availability is at the minimum.
        assert_eq!(
            plan_old_scale_down(&d, &[rs("old", 3, 2)], &rs("new", 1, 1)),
            [("old".to_string(), 2)]
        );
        // Oldest first across several old ReplicaSets.
        let d = deployment(4, IntOrString::Int(0), IntOrString::Int(2));
        assert_eq!(
            plan_old_scale_down(&d, &[rs("v1", 2, 2), rs("v2", 2, 2)], &rs("new", 0, 0)),
            [("v1".to_string(), 0)]
        );
        assert!(plan_old_scale_down(&d, &[rs("v1", 0, 0)], &rs("new", 4, 4)).is_empty());
    }

    /// Simulates whole rollouts: each step applies the plan, then pods of the new ReplicaSet
    /// become available. After every step: at most `replicas + maxSurge` pods, at least
    /// `replicas - maxUnavailable` available, and the rollout ends with old at 0 and new full.
    #[test]
    fn simulated_rollouts_respect_the_bounds() {
        let p = |s: &str| IntOrString::from(s);
        let i = IntOrString::Int;
        let cases = [
            (3, p("25%"), p("25%")),
            (10, p("25%"), p("25%")),
            (10, i(0), i(1)),
            (10, i(1), i(0)),
            (5, p("100%"), p("0%")),
            (7, i(3), i(2)),
            (1, i(0), i(1)),
            (1, i(1), i(0)),
            (20, p("10%"), p("30%")),
        ];
        for (desired, surge, unavailable) in cases {
            let d = deployment(desired, surge.clone(), unavailable.clone());
            let (max_total, min_available) = (desired + max_surge(&d), desired - max_unavailable(&d));
            let mut old = rs("old", desired, desired);
            let mut new = rs("new", 0, 0);
            let mut steps = 0;
            loop {
                steps += 1;
                assert!(steps < 100, "rollout did not finish: {desired} {surge} {unavailable}");
                let all = [old.clone(), new.clone()];
                if let Some(size) = plan_new_rs(&d, &all, &new) {
                    new.spec.replicas = Some(size);
                } else {
                    let plan = plan_old_scale_down(&d, std::slice::from_ref(&old), &new);
                    if plan.is_empty() && spec_replicas(&old) == 0 && available(&new) == desired {
                        break;
                    }
                    for (_, size) in plan {
                        old.spec.replicas = Some(size);
                        // Deleted pods are no longer available.
                        let status = old.status.get_or_insert_with(Default::default);
                        status.available_replicas = status.available_replicas.min(size);
                    }
                }
                let total = spec_replicas(&old) + spec_replicas(&new);
                assert!(total <= max_total, "{total} pods > {max_total}");
                let avail = available(&old) + available(&new);
                assert!(avail >= min_available, "{avail} available < {min_available}");
                // The new pods start and become available before the next step.
                let size = spec_replicas(&new);
                new.status.get_or_insert_with(Default::default).available_replicas = size;
            }
            assert_eq!(spec_replicas(&new), desired);
        }
    }
}
