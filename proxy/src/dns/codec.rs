//! # The DNS wire format: bytes in, a [`Question`]; an [`Answer`], bytes out
//!
//! A DNS message (RFC 1035 §4) is a 12-byte header (id, flags, four section counts) followed by
//! the question and three sections of resource records, with names compressed by pointers back
//! into the message. The `hickory-proto` crate reads and writes that format; this module only
//! translates between its `Message` and the lookup's own small types, and applies the rules
//! that belong to the wire rather than to the cluster:
//!
//! - the answer repeats the query's **id** and **question** exactly (a resolver matches them,
//!   some even the letter case of the name), and its **RD** flag; it never offers recursion;
//! - a query that is not a standard query of class IN with exactly one question gets FORMERR or
//!   NOTIMP, never a guess;
//! - **size**: over UDP an answer may be at most 512 bytes, or what the client announced in an
//!   EDNS0 OPT record (RFC 6891). If the full answer is larger, the additional section goes
//!   first (allowed without a flag); if it is still too large, the answer is sent empty with the
//!   **TC** (truncated) bit, which tells the client to ask again over TCP, where a message may
//!   be up to 65,535 bytes.

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::{CNAME, NS, SOA, SRV, TXT};
use hickory_proto::rr::{rdata, DNSClass, Name, RData, Record as WireRecord, RecordType as WireType};

use super::lookup::{Answer, Question, Rcode, Record, RecordData, RecordType};

/// The wire types a client of [`query`] and [`parse_response`] needs (the demo's `resolve`).
pub use hickory_proto::op::Message as WireMessage;
pub use hickory_proto::rr::{RData as WireData, RecordType as WireRecordType};

/// The largest UDP answer without EDNS0 (RFC 1035 §4.2.1).
pub const UDP_LIMIT: usize = 512;
/// The most this server sends over UDP whatever a client announces: what fits in one packet
/// without fragmentation on common networks (the "DNS flag day 2020" value).
pub const EDNS_LIMIT: usize = 1232;
/// The largest message over TCP (its length prefix is 16 bits).
pub const TCP_LIMIT: usize = 65_535;

/// Why a message could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// The bytes are not a DNS message at all (too short for a header): nothing to answer.
    #[error("not a DNS message: {0}")]
    Unreadable(String),
    /// A record could not be encoded (a name too long for DNS, say).
    #[error("cannot encode the answer: {0}")]
    Encode(String),
}

/// A decoded query: what to look up, or the error code to answer at once.
#[derive(Debug)]
pub struct Request {
    message: Message,
    /// The question, if the query is one this server answers.
    pub question: Result<Question, BadQuery>,
}

/// A response code for queries the lookup never sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BadQuery {
    /// Malformed: no question, several questions, a response instead of a query.
    FormErr,
    /// Not a standard query (an UPDATE, a NOTIFY) or not class IN.
    NotImp,
}

/// Reads a query. `Err` only when there is not even a header to answer to.
pub fn decode(bytes: &[u8]) -> Result<Request, CodecError> {
    let message = match Message::from_vec(bytes) {
        Ok(message) => message,
        Err(e) => {
            // A readable header is enough to say FORMERR to the right id.
            if bytes.len() < 12 {
                return Err(CodecError::Unreadable(e.to_string()));
            }
            let id = u16::from_be_bytes([bytes[0], bytes[1]]);
            let mut message = Message::new(id, MessageType::Query, OpCode::Query);
            message.metadata.recursion_desired = bytes[2] & 0x01 != 0;
            return Ok(Request {
                message,
                question: Err(BadQuery::FormErr),
            });
        }
    };
    let question = if message.metadata.message_type != MessageType::Query || message.queries.len() != 1 {
        Err(BadQuery::FormErr)
    } else if message.metadata.op_code != OpCode::Query || message.queries[0].query_class() != DNSClass::IN {
        Err(BadQuery::NotImp)
    } else {
        let query = &message.queries[0];
        Ok(Question::new(&query.name().to_ascii(), record_type(query.query_type())))
    };
    Ok(Request { message, question })
}

fn record_type(wire: WireType) -> RecordType {
    match wire {
        WireType::A => RecordType::A,
        WireType::AAAA => RecordType::Aaaa,
        WireType::CNAME => RecordType::Cname,
        WireType::NS => RecordType::Ns,
        WireType::SOA => RecordType::Soa,
        WireType::SRV => RecordType::Srv,
        WireType::TXT => RecordType::Txt,
        WireType::ANY => RecordType::Any,
        other => RecordType::Other(u16::from(other)),
    }
}

/// The most bytes an answer to `request` may take over UDP: 512, or what the client's EDNS0
/// record announces (at most [`EDNS_LIMIT`]).
pub fn udp_limit(request: &Request) -> usize {
    match &request.message.edns {
        Some(edns) => usize::from(edns.max_payload()).clamp(UDP_LIMIT, EDNS_LIMIT),
        None => UDP_LIMIT,
    }
}

/// The response to `request`: `answer` (or, for a query the lookup never saw, its error code),
/// in at most `limit` bytes.
pub fn encode(request: &Request, answer: Option<&Answer>, limit: usize) -> Result<Vec<u8>, CodecError> {
    let query = &request.message;
    let mut response = Message::response(query.metadata.id, query.metadata.op_code);
    response.metadata.recursion_desired = query.metadata.recursion_desired;
    response.metadata.recursion_available = false;
    response.add_queries(query.queries.iter().cloned());
    if query.edns.is_some() {
        let mut edns = Edns::new();
        edns.set_max_payload(EDNS_LIMIT as u16);
        response.set_edns(edns);
    }
    match (&request.question, answer) {
        (Err(code), _) => {
            response.metadata.response_code = match code {
                BadQuery::FormErr => ResponseCode::FormErr,
                BadQuery::NotImp => ResponseCode::NotImp,
            };
        }
        (Ok(_), None) => response.metadata.response_code = ResponseCode::ServFail,
        (Ok(_), Some(answer)) => {
            response.metadata.response_code = match answer.rcode {
                Rcode::NoError => ResponseCode::NoError,
                Rcode::NxDomain => ResponseCode::NXDomain,
            };
            response.metadata.authoritative = answer.authoritative;
            response.add_answers(wire_records(&answer.answers)?);
            response.add_authorities(wire_records(&answer.authority)?);
            response.add_additionals(wire_records(&answer.additional)?);
        }
    }
    let bytes = to_vec(&response)?;
    if bytes.len() <= limit {
        return Ok(bytes);
    }
    // Too big: first without the additional section, then empty with TC set.
    response.additionals.clear();
    let bytes = to_vec(&response)?;
    if bytes.len() <= limit {
        return Ok(bytes);
    }
    response.answers.clear();
    response.authorities.clear();
    response.metadata.truncation = true;
    to_vec(&response)
}

fn to_vec(message: &Message) -> Result<Vec<u8>, CodecError> {
    message.to_vec().map_err(|e| CodecError::Encode(e.to_string()))
}

fn name(text: &str) -> Result<Name, CodecError> {
    let mut name = Name::from_ascii(text).map_err(|e| CodecError::Encode(format!("name {text:?}: {e}")))?;
    name.set_fqdn(true);
    Ok(name)
}

fn wire_records(records: &[Record]) -> Result<Vec<WireRecord>, CodecError> {
    records
        .iter()
        .map(|r| {
            let data = match &r.data {
                RecordData::A(ip) => RData::A(rdata::A(*ip)),
                RecordData::Cname(target) => RData::CNAME(CNAME(name(target)?)),
                RecordData::Ns(target) => RData::NS(NS(name(target)?)),
                RecordData::Srv {
                    priority,
                    weight,
                    port,
                    target,
                } => RData::SRV(SRV::new(*priority, *weight, *port, name(target)?)),
                RecordData::Soa {
                    mname,
                    rname,
                    serial,
                    refresh,
                    retry,
                    expire,
                    minimum,
                } => RData::SOA(SOA::new(
                    name(mname)?,
                    name(rname)?,
                    *serial,
                    *refresh,
                    *retry,
                    *expire,
                    *minimum,
                )),
                RecordData::Txt(text) => RData::TXT(TXT::new(vec![text.clone()])),
            };
            Ok(WireRecord::from_rdata(name(&r.name)?, r.ttl, data))
        })
        .collect()
}

/// A query for `name` and `qtype` as a client would send it (for the demo's `resolve --srv`
/// and tests): id `id`, recursion desired, with an EDNS0 record announcing `edns_payload` bytes
/// if given.
pub fn query(id: u16, name_text: &str, qtype: WireType, edns_payload: Option<u16>) -> Result<Vec<u8>, CodecError> {
    let mut message = Message::new(id, MessageType::Query, OpCode::Query);
    message.metadata.recursion_desired = true;
    message.add_query(Query::query(name(name_text)?, qtype));
    if let Some(payload) = edns_payload {
        let mut edns = Edns::new();
        edns.set_max_payload(payload);
        message.set_edns(edns);
    }
    to_vec(&message)
}

/// A response read back (for the demo's `resolve --srv` and tests).
pub fn parse_response(bytes: &[u8]) -> Result<Message, CodecError> {
    Message::from_vec(bytes).map_err(|e| CodecError::Unreadable(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn a(name: &str, last: u8) -> Record {
        Record {
            name: name.into(),
            ttl: 5,
            data: RecordData::A(Ipv4Addr::new(10, 0, 0, last)),
        }
    }

    fn answer(answers: Vec<Record>, additional: Vec<Record>) -> Answer {
        Answer {
            rcode: Rcode::NoError,
            authoritative: true,
            answers,
            authority: Vec::new(),
            additional,
        }
    }

    #[test]
    fn a_query_is_read_and_its_answer_echoes_id_question_and_rd() {
        let bytes = query(0xbeef, "Web.Default.svc.cluster.local", WireType::A, None).unwrap();
        let request = decode(&bytes).unwrap();
        let question = request.question.clone().unwrap();
        assert_eq!(question, Question::new("web.default.svc.cluster.local", RecordType::A));
        let out = encode(
            &request,
            Some(&answer(vec![a("web.default.svc.cluster.local", 7)], vec![])),
            UDP_LIMIT,
        )
        .unwrap();
        let response = parse_response(&out).unwrap();
        assert_eq!(response.metadata.id, 0xbeef);
        assert_eq!(response.metadata.message_type, MessageType::Response);
        assert!(response.metadata.authoritative && response.metadata.recursion_desired);
        assert!(!response.metadata.recursion_available && !response.metadata.truncation);
        assert_eq!(response.queries[0].name().to_ascii(), "Web.Default.svc.cluster.local.");
        assert_eq!(response.answers.len(), 1);
        assert_eq!(response.answers[0].ttl, 5);
        assert_eq!(response.answers[0].data, RData::A(rdata::A(Ipv4Addr::new(10, 0, 0, 7))));
    }

    #[test]
    fn rcodes_and_record_types_reach_the_wire() {
        let bytes = query(1, "example.com", WireType::SRV, None).unwrap();
        let request = decode(&bytes).unwrap();
        assert_eq!(request.question.as_ref().unwrap().qtype, RecordType::Srv);
        let outside = Answer {
            rcode: Rcode::NxDomain,
            authoritative: false,
            answers: vec![],
            authority: vec![],
            additional: vec![],
        };
        let response = parse_response(&encode(&request, Some(&outside), UDP_LIMIT).unwrap()).unwrap();
        assert_eq!(response.metadata.response_code, ResponseCode::NXDomain);
        assert!(!response.metadata.authoritative);
        let srv = Record {
            name: "_http._tcp.web.default.svc.cluster.local".into(),
            ttl: 5,
            data: RecordData::Srv {
                priority: 0,
                weight: 100,
                port: 80,
                target: "web.default.svc.cluster.local".into(),
            },
        };
        let soa = Record {
            name: "cluster.local".into(),
            ttl: 5,
            data: RecordData::Soa {
                mname: "ns.dns.cluster.local".into(),
                rname: "hostmaster.cluster.local".into(),
                serial: 3,
                refresh: 7200,
                retry: 1800,
                expire: 86400,
                minimum: 5,
            },
        };
        let mut found = answer(vec![srv], vec![a("web.default.svc.cluster.local", 1)]);
        found.authority.push(soa);
        let response = parse_response(&encode(&request, Some(&found), UDP_LIMIT).unwrap()).unwrap();
        let RData::SRV(srv) = &response.answers[0].data else {
            panic!("{:?}", response.answers)
        };
        assert_eq!(
            (srv.port, srv.target.to_ascii()),
            (80, "web.default.svc.cluster.local.".into())
        );
        assert!(matches!(response.authorities[0].data, RData::SOA(_)));
        assert_eq!(response.additionals.len(), 1);
    }

    #[test]
    fn big_udp_answers_lose_the_additional_section_then_set_tc() {
        let name = "big.default.svc.cluster.local";
        let many: Vec<Record> = (1..=40).map(|i| a(name, i)).collect();
        let request = decode(&query(2, name, WireType::A, None).unwrap()).unwrap();
        assert_eq!(udp_limit(&request), 512);
        // 40 A records: ~16 bytes each with compression, over 512 in all.
        let out = encode(&request, Some(&answer(many.clone(), vec![])), udp_limit(&request)).unwrap();
        assert!(out.len() <= 512);
        let response = parse_response(&out).unwrap();
        assert!(response.metadata.truncation, "TC tells the client to retry over TCP");
        assert!(response.answers.is_empty());
        // Over TCP the same answer goes whole.
        let whole = parse_response(&encode(&request, Some(&answer(many.clone(), vec![])), TCP_LIMIT).unwrap()).unwrap();
        assert_eq!((whole.answers.len(), whole.metadata.truncation), (40, false));
        // A client announcing 1232 bytes with EDNS0 gets the whole answer over UDP.
        let edns = decode(&query(3, name, WireType::A, Some(4096)).unwrap()).unwrap();
        assert_eq!(udp_limit(&edns), EDNS_LIMIT, "capped at 1232 whatever the client says");
        let response = parse_response(&encode(&edns, Some(&answer(many, vec![])), udp_limit(&edns)).unwrap()).unwrap();
        assert_eq!((response.answers.len(), response.metadata.truncation), (40, false));
        assert!(response.edns.is_some(), "an EDNS0 query gets an OPT record back");
        // Answers that fit but whose additional records do not: the additional section goes.
        let few: Vec<Record> = (1..=20).map(|i| a(name, i)).collect();
        let extra: Vec<Record> = (1..=20).map(|i| a("other.default.svc.cluster.local", i)).collect();
        let response = parse_response(&encode(&request, Some(&answer(few, extra)), 512).unwrap()).unwrap();
        assert_eq!(
            (
                response.answers.len(),
                response.additionals.len(),
                response.metadata.truncation
            ),
            (20, 0, false)
        );
    }

    #[test]
    fn malformed_and_unsupported_queries_get_formerr_or_notimp() {
        assert!(decode(&[1, 2, 3]).is_err(), "no header: nothing to answer");
        // A header that announces a question that is not there.
        let mut bytes = query(9, "web.default.svc.cluster.local", WireType::A, None).unwrap();
        bytes.truncate(14);
        let request = decode(&bytes).unwrap();
        let response = parse_response(&encode(&request, None, UDP_LIMIT).unwrap()).unwrap();
        assert_eq!(
            (response.metadata.id, response.metadata.response_code),
            (9, ResponseCode::FormErr)
        );
        // An UPDATE.
        let mut update = Message::new(4, MessageType::Query, OpCode::Update);
        update.add_query(Query::query(name("cluster.local").unwrap(), WireType::SOA));
        let request = decode(&update.to_vec().unwrap()).unwrap();
        let response = parse_response(&encode(&request, None, UDP_LIMIT).unwrap()).unwrap();
        assert_eq!(response.metadata.response_code, ResponseCode::NotImp);
        // A response sent as if it were a query.
        let stray = Message::response(5, OpCode::Query);
        let request = decode(&stray.to_vec().unwrap()).unwrap();
        assert_eq!(request.question.unwrap_err(), BadQuery::FormErr);
    }
}
