/* The program's version, written into every config.json and printed by `lmrnn --version`. */
#ifndef LMRNN_VERSION_H
#define LMRNN_VERSION_H
#define LMRNN_VERSION "0.1.0"
#endif
