//! The metering loop: every interval, flush the S3 endpoint's request and
//! traffic counters into the hourly usage records and integrate stored
//! bytes up to now (`MetaStore::meter_storage`, atomic, so several gateways
//! never count the same second twice).

use coffer_meta::MetaStore;
use coffer_s3_api::Meter;
use std::sync::Arc;
use std::time::Duration;

/// One flush. Counters a failed write could not store are kept for the next.
pub(crate) async fn flush(meta: &dyn MetaStore, meter: &Meter) {
    let deltas = meter.drain();
    if !deltas.is_empty() {
        if let Err(e) = meta.add_usage(&deltas).await {
            tracing::warn!(error = %e, "storing usage counters failed; will retry");
            meter.restore(deltas);
        }
    }
    if let Err(e) = meta.meter_storage(coffer_types::now_millis()).await {
        tracing::warn!(error = %e, "metering stored bytes failed; will retry");
    }
}

/// Flushes every `every` until `stop` turns true, then once more.
pub(crate) async fn run(
    meta: Arc<dyn MetaStore>,
    svc: coffer_s3_api::S3Service,
    every: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => flush(meta.as_ref(), svc.meter()).await,
            _ = stop.changed() => break,
        }
    }
    flush(meta.as_ref(), svc.meter()).await;
}
