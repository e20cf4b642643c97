#include "provider/prov.h"
const OSSL_ALGORITHM ocfprov_keymgmt[] = {{NULL, NULL, NULL, NULL}};
const OSSL_ALGORITHM ocfprov_signatures[] = {{NULL, NULL, NULL, NULL}};
const OSSL_ALGORITHM ocfprov_asym_ciphers[] = {{NULL, NULL, NULL, NULL}};
const OSSL_ALGORITHM ocfprov_keyexch[] = {{NULL, NULL, NULL, NULL}};
