// OpenSSL for TLS (ScanBridgeHTTP), certificates and encryption. Several OpenSSL "functions"
// are macros over *_ctrl calls; each gets a prefixed wrapper here.
#ifndef SB_COPENSSL_SHIM_H
#define SB_COPENSSL_SHIM_H
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/pem.h>
#include <openssl/bio.h>
#include <openssl/kdf.h>
#include <openssl/sha.h>

static inline long sb_ssl_ctx_set_min_proto_version(SSL_CTX *ctx, int version) { return SSL_CTX_set_min_proto_version(ctx, version); }
static inline long sb_ssl_ctx_set_max_proto_version(SSL_CTX *ctx, int version) { return SSL_CTX_set_max_proto_version(ctx, version); }
static inline long sb_ssl_ctx_set_mode(SSL_CTX *ctx, long mode) { return SSL_CTX_set_mode(ctx, mode); }
static inline long sb_bio_get_mem_data(BIO *bio, char **data) { return BIO_get_mem_data(bio, data); }
static inline long sb_bio_set_mem_eof_return(BIO *bio, int value) { return BIO_set_mem_eof_return(bio, value); }
static inline size_t sb_bio_ctrl_pending(BIO *bio) { return BIO_ctrl_pending(bio); }
// Used by ScanBridgeHTTP's TLS and certificate code.
static inline EVP_PKEY *sb_evp_ec_gen(const char *curve) { return EVP_EC_gen(curve); }
static inline uint64_t sb_ssl_op_no_renegotiation(void) { return SSL_OP_NO_RENEGOTIATION; }
static inline uint64_t sb_ssl_op_cipher_server_preference(void) { return SSL_OP_CIPHER_SERVER_PREFERENCE; }
static inline int sb_mbstring_asc(void) { return MBSTRING_ASC; }
#endif
