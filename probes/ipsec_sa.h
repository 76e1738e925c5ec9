/* IKE and CHILD SA facts and connection (configuration) facts of one peer.
 *
 * Filled by the strongSwan parsers (probes/swanctl.h: `swanctl --list-sas
 * --raw`, the human `--list-sas`, `--list-conns [--raw]`) and the Libreswan ones
 * (probes/libreswan.h: `ipsec trafficstatus`, `ipsec status`).  Every field the
 * source does not print stays unknown (OPT_UNKNOWN, TRI_UNKNOWN, "").
 * Strings are as the tool printed them (states "INSTALLED", modes "TUNNEL").
 * Times are whole seconds: *_time "in N seconds" (rekey, life/expiry),
 * established/install_time "N seconds ago", use_in/use_out "last packet N
 * seconds ago". */
#ifndef TS_IPSEC_SA_H
#define TS_IPSEC_SA_H

#include "probes/fact.h"

enum sa_source {
    SA_SRC_NONE = 0,
    SA_SRC_SWANCTL_RAW,      /* swanctl --list-sas --raw / --list-conns --raw */
    SA_SRC_SWANCTL_TEXT,     /* swanctl --list-sas / --list-conns */
    SA_SRC_LIBRESWAN,        /* ipsec trafficstatus / ipsec status */
};

struct child_sa {
    char name[FACT_NAME_MAX];
    struct opt_u64 uniqueid;       /* strongSwan CHILD_SA #N; Libreswan state #N */
    struct opt_u64 reqid;
    char state[32];                /* INSTALLED, REKEYING, REKEYED, DELETED, ... */
    char mode[16];                 /* TUNNEL, TRANSPORT, BEET */
    char protocol[8];              /* ESP, AH */
    enum tri encap;                /* ESP in UDP (NAT-T, "TUNNEL-in-UDP", ESPinUDP) */
    struct opt_u64 spi_in, spi_out;
    char proposal[FACT_TEXT_MAX];  /* "AES_GCM_16-128", "AES_CBC-256/HMAC_SHA2_256_128/MODP_2048" */
    struct opt_u64 bytes_in, packets_in, use_in;
    struct opt_u64 bytes_out, packets_out, use_out;
    struct opt_u64 rekey_time, life_time, install_time;
    struct ts_list local_ts, remote_ts;
    struct opt_u64 ike_uniqueid;   /* Libreswan: the IKE SA this child belongs to */
};

struct ike_sa {
    char name[FACT_NAME_MAX];
    struct opt_u64 uniqueid;
    struct opt_u64 version;        /* 1 or 2 */
    char state[32];                /* ESTABLISHED, CONNECTING, REKEYING, ... */
    char local_host[FACT_ADDR_MAX];
    struct opt_u64 local_port;
    char local_id[FACT_TEXT_MAX];
    char remote_host[FACT_ADDR_MAX];
    struct opt_u64 remote_port;
    char remote_id[FACT_TEXT_MAX];
    enum tri initiator;
    struct opt_u64 initiator_spi, responder_spi;
    enum tri nat_local;            /* this end is behind NAT */
    enum tri nat_remote;           /* the peer is behind NAT */
    enum tri nat_fake;             /* NAT faked (encap forced) */
    enum tri nat_any;              /* any NAT, forced or real */
    char proposal[FACT_TEXT_MAX];  /* "AES_CBC-256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048" */
    struct opt_u64 established, rekey_time, reauth_time;
    char tasks_active[FACT_TEXT_MAX];   /* "IKE_REKEY", ... as printed */
    size_t n_child;
    struct child_sa *child;
};

struct sa_fact {
    enum sa_source source;
    size_t n_ike;
    struct ike_sa *ike;
};

/* One configured CHILD (strongSwan child, Libreswan subnet pair). */
struct child_conf {
    char name[FACT_NAME_MAX];
    char mode[16];
    char esp_proposals[FACT_TEXT_MAX];
    struct opt_u64 rekey_time, life_time, rekey_bytes, rekey_packets;
    char dpd_action[24], close_action[24], start_action[24];
    struct ts_list local_ts, remote_ts;
};

struct conn_conf {
    char name[FACT_NAME_MAX];
    struct opt_u64 version;        /* 1, 2, or unknown for "IKEv1/2" */
    struct ts_list local_addrs, remote_addrs;
    struct opt_u64 local_port, remote_port;
    char proposals[FACT_TEXT_MAX];
    struct opt_u64 dpd_delay, dpd_timeout, rekey_time, reauth_time, keyingtries;
    enum tri encap_forced;         /* strongSwan encap=yes, Libreswan encapsulation=yes */
    char local_auth[32], remote_auth[32];
    char local_id[FACT_TEXT_MAX], remote_id[FACT_TEXT_MAX];
    size_t n_child;
    struct child_conf *child;
};

struct conn_fact {
    enum sa_source source;
    size_t n_conn;
    struct conn_conf *conn;
};

/* Free the arrays (not the struct itself); NULL is a no-op.  After the call
 * the struct is empty and can be reused. */
void sa_fact_free(struct sa_fact *f);
void conn_fact_free(struct conn_fact *f);

/* Grow the arrays by one zeroed element; NULL when out of memory. */
struct ike_sa *sa_fact_add_ike(struct sa_fact *f);
struct child_sa *ike_sa_add_child(struct ike_sa *ike);
struct conn_conf *conn_fact_add_conn(struct conn_fact *f);
struct child_conf *conn_conf_add_child(struct conn_conf *c);

#endif
