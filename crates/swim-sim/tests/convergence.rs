//! Property: whatever the seed, a lossy cluster converges and never declares a live member
//! offline.

use std::time::Duration;

use proptest::prelude::*;
use swim_sim::{run_standard, NetworkConfig, RunConfig};

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn any_seed_converges(seed in any::<u64>(), members in 2usize..40, loss in 0.0f64..0.1) {
        let report = run_standard(&RunConfig {
            members,
            seed,
            network: NetworkConfig { loss, ..NetworkConfig::default() },
            quiet: Duration::from_secs(5),
            ..RunConfig::default()
        });
        prop_assert!(report.join_s.is_some(), "{report:?}");
        prop_assert!(report.meta_max_s.is_some() || members == 1, "{report:?}");
        prop_assert!(report.all_offline_s.is_some(), "{report:?}");
        prop_assert_eq!(report.false_offline, 0, "{:?}", report);
    }
}
