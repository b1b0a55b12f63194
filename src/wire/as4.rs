//! Reconstructing the real AS path of a route learned from a 2-octet-AS speaker (RFC 6793 §4.2.3).
//!
//! Under a 2-octet context the decoder keeps AS_PATH (with AS_TRANS standing in for 4-octet AS
//! numbers) and AS4_PATH apart, exactly as received, so the message re-encodes to itself; the
//! session or RIB calls [`Attributes::merge_as4`] once to get the path the decision process and
//! loop detection must use.

use super::{AsPath, AsSegment, Attributes, SegmentType, AS_TRANS};

impl Attributes {
    /// Merge AS4_PATH / AS4_AGGREGATOR into AS_PATH / AGGREGATOR (RFC 6793 §4.2.3) and clear
    /// them. A no-op for attributes that carry neither (e.g. anything decoded under a 4-octet
    /// context).
    pub fn merge_as4(&mut self) {
        let as4_path = self.as4_path.take();
        let as4_aggregator = self.as4_aggregator.take();

        // RFC 6793 §4.2.3: "If the AGGREGATOR attribute contains an AS number other than
        // AS_TRANS, then: the AS4_AGGREGATOR attribute and the AS4_PATH attribute SHALL be
        // ignored, the AGGREGATOR attribute SHALL be taken as the information about the
        // aggregating node, and the AS_PATH attribute SHALL be taken as the AS path information.
        // Otherwise, the AGGREGATOR attribute SHALL be ignored, and the AS4_AGGREGATOR attribute
        // SHALL be taken as the information about the aggregating node."
        match self.aggregator {
            Some(agg) if agg.asn != u32::from(AS_TRANS) => return,
            // An AS_TRANS aggregator without AS4_AGGREGATOR stays as it is: better than none.
            _ => {
                if as4_aggregator.is_some() {
                    self.aggregator = as4_aggregator;
                }
            }
        }

        let (Some(path), Some(as4)) = (self.as_path.as_ref(), as4_path) else {
            return;
        };
        // RFC 6793 §4.2.3: "If the number of AS numbers in the AS_PATH attribute is less than
        // the number of AS numbers in the AS4_PATH attribute, then the AS4_PATH attribute SHALL
        // be ignored, and the AS_PATH attribute SHALL be taken as the AS path information." (An
        // AS_SET counts as one AS number.)
        let (n, n4) = (path.path_len(), as4.path_len());
        if n < n4 {
            return;
        }
        // "... the AS path information SHALL be constructed by taking as many AS numbers and
        // path segments as necessary from the leading part of the AS_PATH attribute, and then
        // prepending them to the AS4_PATH attribute so that the AS path information has a
        // number of AS numbers identical to that of the AS_PATH attribute."
        let mut need = n - n4;
        let mut segments: Vec<AsSegment> = Vec::with_capacity(path.segments.len());
        for seg in &path.segments {
            if need == 0 {
                break;
            }
            match seg.kind {
                SegmentType::AsSet => {
                    segments.push(seg.clone());
                    need -= 1;
                }
                SegmentType::AsSequence => {
                    let take = need.min(seg.asns.len());
                    segments.push(AsSegment {
                        kind: SegmentType::AsSequence,
                        asns: seg.asns[..take].to_vec(),
                    });
                    need -= take;
                }
            }
        }
        let mut rest = as4.segments.into_iter();
        // Where the two parts meet, two sequences make one (when it fits one segment).
        if let (Some(last), Some(first)) = (segments.last_mut(), rest.as_slice().first()) {
            if last.kind == SegmentType::AsSequence
                && first.kind == SegmentType::AsSequence
                && last.asns.len() + first.asns.len() <= 255
            {
                last.asns.extend_from_slice(&first.asns);
                rest.next();
            }
        }
        segments.extend(rest);
        self.as_path = Some(AsPath { segments });
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::wire::Aggregator;

    fn seq(asns: &[u32]) -> AsSegment {
        AsSegment {
            kind: SegmentType::AsSequence,
            asns: asns.to_vec(),
        }
    }

    fn set(asns: &[u32]) -> AsSegment {
        AsSegment {
            kind: SegmentType::AsSet,
            asns: asns.to_vec(),
        }
    }

    fn path(segments: Vec<AsSegment>) -> Option<AsPath> {
        Some(AsPath { segments })
    }

    const T: u32 = AS_TRANS as u32;

    #[test]
    fn leading_two_octet_ases_are_prepended_to_as4_path() {
        // 65001 (OLD) prepended itself to a path that came from 4-octet speakers.
        let mut a = Attributes {
            as_path: path(vec![seq(&[65001, T, 65002, T])]),
            as4_path: path(vec![seq(&[4200000001, 65002, 4200000002])]),
            ..Attributes::default()
        };
        a.merge_as4();
        assert_eq!(
            a.as_path,
            path(vec![seq(&[65001, 4200000001, 65002, 4200000002])])
        );
        assert_eq!(a.as4_path, None);
    }

    #[test]
    fn as_set_counts_as_one() {
        let mut a = Attributes {
            as_path: path(vec![set(&[1, 2, 3]), seq(&[T])]),
            as4_path: path(vec![seq(&[4200000001])]),
            ..Attributes::default()
        };
        a.merge_as4();
        assert_eq!(a.as_path, path(vec![set(&[1, 2, 3]), seq(&[4200000001])]));
    }

    #[test]
    fn longer_as4_path_is_ignored() {
        let mut a = Attributes {
            as_path: path(vec![seq(&[T])]),
            as4_path: path(vec![seq(&[4200000001, 4200000002])]),
            ..Attributes::default()
        };
        a.merge_as4();
        assert_eq!(a.as_path, path(vec![seq(&[T])]));
        assert_eq!(a.as4_path, None);
    }

    #[test]
    fn aggregator_other_than_as_trans_wins() {
        let addr = Ipv4Addr::new(198, 18, 0, 9);
        let mut a = Attributes {
            as_path: path(vec![seq(&[65001, T])]),
            as4_path: path(vec![seq(&[4200000001])]),
            aggregator: Some(Aggregator {
                asn: 65001,
                address: addr,
            }),
            as4_aggregator: Some(Aggregator {
                asn: 4200000001,
                address: addr,
            }),
            ..Attributes::default()
        };
        a.merge_as4();
        assert_eq!(a.as_path, path(vec![seq(&[65001, T])]));
        assert_eq!(a.aggregator.unwrap().asn, 65001);
        assert_eq!(a.as4_aggregator, None);

        let mut b = Attributes {
            as_path: path(vec![seq(&[65001, T])]),
            as4_path: path(vec![seq(&[4200000001])]),
            aggregator: Some(Aggregator {
                asn: T,
                address: addr,
            }),
            as4_aggregator: Some(Aggregator {
                asn: 4200000001,
                address: addr,
            }),
            ..Attributes::default()
        };
        b.merge_as4();
        assert_eq!(b.as_path, path(vec![seq(&[65001, 4200000001])]));
        assert_eq!(b.aggregator.unwrap().asn, 4200000001);
    }

    #[test]
    fn nothing_to_merge_is_a_no_op() {
        let mut a = Attributes {
            as_path: path(vec![seq(&[65001, 65002])]),
            ..Attributes::default()
        };
        let before = a.clone();
        a.merge_as4();
        assert_eq!(a, before);
    }
}
