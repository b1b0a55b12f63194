//! Changes of the intent made in memory first and kept on disk together: what lets concurrent
//! requests share one fsync (group commit, `committer.rs`).
//!
//! Between [`IntentKeeper::begin`] and [`IntentKeeper::finish`] every change applies to the
//! intent in memory at once (so the next change of the batch sees it) and is staged: a route
//! change as its journal record, a peer change or a reload as "the intent must be saved whole".
//! `finish` then keeps them all with one journal append and one fsync, or with one whole save
//! (the first save, a compaction, a peer change in the batch), which holds them all as well.
//!
//! Each staged change keeps what it replaced, so it can be taken back: alone
//! ([`undo_to`](IntentKeeper::undo_to), a request whose checks failed after it changed
//! something), or with the whole batch when the disk refused it. Taking back costs what the
//! change cost (a few binary searches for a route), never a reread of a million routes from
//! disk, and works when the disk cannot be read either. Outside a batch a change is a batch of
//! one, so there is one way of keeping changes.

use std::sync::Arc;

use super::{CommitError, ConfigRoutes, IntentKeeper, COMPACT_AFTER, COMPACT_BYTES};
use crate::config::Route;
use crate::store::{Intent, IntentChange};
use crate::wire::Prefix;

/// Changes made in memory since [`IntentKeeper::begin`], not on disk yet.
#[derive(Debug, Default)]
pub(super) struct Staged {
    entries: Vec<Entry>,
}

#[derive(Debug)]
struct Entry {
    /// The journal record of a change of routes; `None` for a change only a whole save keeps.
    record: Option<IntentChange>,
    /// How to take it back.
    undo: Undo,
}

#[derive(Debug)]
enum Undo {
    /// Put these run-time routes back as they were, last first (`None`: there was none).
    Routes(Vec<(Prefix, Option<Route>)>),
    /// Put the intent and the configuration's routes back as they were (peer changes and
    /// reloads replace the intent whole).
    Whole(Box<Intent>, Arc<ConfigRoutes>),
}

impl IntentKeeper {
    /// Start a batch: changes from now on are made in memory and kept by
    /// [`finish`](Self::finish).
    pub fn begin(&mut self) {
        self.staged = Some(Staged::default());
    }

    /// How many changes the open batch holds: where [`undo_to`](Self::undo_to) goes back to.
    pub fn mark(&self) -> usize {
        self.staged.as_ref().map_or(0, |s| s.entries.len())
    }

    /// Take back the changes of the open batch made since `mark`, last first.
    pub fn undo_to(&mut self, mark: usize) {
        while let Some(entry) = self
            .staged
            .as_mut()
            .filter(|s| s.entries.len() > mark)
            .and_then(|s| s.entries.pop())
        {
            self.undo(entry.undo);
        }
    }

    /// Keep the open batch on disk and close it: one journal append (one fsync) for route
    /// changes, or one whole save when the intent file does not exist yet, the journal is due
    /// for compaction, or the batch changed peers or the configuration. On error every change
    /// of the batch is taken back, and the next change saves the intent whole (what reached
    /// the disk before the error is then overwritten).
    pub fn finish(&mut self) -> Result<(), CommitError> {
        let Some(mut staged) = self.staged.take() else {
            return Ok(());
        };
        if staged.entries.is_empty() {
            return Ok(());
        }
        let Some(dir) = self.dir.clone() else {
            self.undo_all(staged);
            return Err(CommitError::NoStateDir);
        };
        let records: Vec<IntentChange> = staged
            .entries
            .iter_mut()
            .filter_map(|e| e.record.take())
            .collect();
        let whole = !self.saved_whole
            || records.len() < staged.entries.len()
            || dir.journal_records() + records.len()
                > COMPACT_AFTER.max(self.intent.api_routes.len())
            || dir.journal_bytes() >= COMPACT_BYTES;
        let saved = if whole {
            dir.save_intent_with(&self.intent, &records)
        } else {
            dir.journal_intent(&records)
        };
        match saved {
            Ok(()) => {
                self.saved_whole |= whole;
                Ok(())
            }
            Err(e) => {
                self.undo_all(staged);
                self.saved_whole = false;
                Err(e.into())
            }
        }
    }

    /// Make a change of routes: staged in the open batch, or kept at once (a batch of one).
    pub(super) fn change(&mut self, change: IntentChange) -> Result<(), CommitError> {
        self.dir.as_ref().ok_or(CommitError::NoStateDir)?;
        let prefixes: Vec<Prefix> = match &change {
            IntentChange::Announce(routes) => routes.iter().map(|r| r.prefix).collect(),
            IntentChange::Withdraw(prefixes) => prefixes.clone(),
        };
        let before = prefixes
            .into_iter()
            .map(|p| (p, self.intent.api_routes.get(&p)))
            .collect();
        self.intent.apply(&change);
        self.staged_or_kept(Entry {
            record: Some(change),
            undo: Undo::Routes(before),
        })
    }

    /// Replace the intent with `next` (a peer change, a reload), and the configuration's
    /// routes with `routes` if given (a reload): staged in the open batch, or saved at once (a
    /// batch of one).
    pub(super) fn commit(
        &mut self,
        next: Intent,
        routes: Option<Arc<ConfigRoutes>>,
    ) -> Result<(), CommitError> {
        self.dir.as_ref().ok_or(CommitError::NoStateDir)?;
        let was = std::mem::replace(&mut self.intent, next);
        let was_routes = match routes {
            // Unchanged routes keep their set: a reload that changes peers only rebuilds nothing.
            Some(r) if *r != *self.config_routes => std::mem::replace(&mut self.config_routes, r),
            _ => self.config_routes.clone(),
        };
        self.staged_or_kept(Entry {
            record: None,
            undo: Undo::Whole(Box::new(was), was_routes),
        })
    }

    fn staged_or_kept(&mut self, entry: Entry) -> Result<(), CommitError> {
        match self.staged.as_mut() {
            Some(staged) => {
                staged.entries.push(entry);
                Ok(())
            }
            None => {
                self.staged = Some(Staged {
                    entries: vec![entry],
                });
                self.finish()
            }
        }
    }

    fn undo_all(&mut self, staged: Staged) {
        for entry in staged.entries.into_iter().rev() {
            self.undo(entry.undo);
        }
    }

    fn undo(&mut self, undo: Undo) {
        match undo {
            Undo::Routes(before) => {
                for (prefix, route) in before.into_iter().rev() {
                    match route {
                        Some(route) => self.intent.announce(vec![route]),
                        None => {
                            self.intent.withdraw(&[prefix]);
                        }
                    }
                }
            }
            Undo::Whole(was, routes) => {
                self.intent = *was;
                self.config_routes = routes;
            }
        }
    }
}
