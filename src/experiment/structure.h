/* What a run's final recurrent mask and weights look like on the sheet (C7: does search rediscover
 * locality?), read from its checkpoint.npz. */
#ifndef LMRNN_EXP_STRUCTURE_H
#define LMRNN_EXP_STRUCTURE_H

#define LM_STRUCT_BINS 24   /* sheet distance rounded to 0..23 */

typedef struct {
    double within_near, within_far;   /* fraction of the mask's connections at sheet distance < d_near, < d_far */
    double diag;                      /* fraction of the N autapses present */
    double density;
    double wdist[LM_STRUCT_BINS];     /* mean |w| over the mask's connections at each rounded distance (NaN: none) */
} LmMaskStructure;

/* From run_dir/checkpoint.npz (`mask`, `W_rec`) on the square sheet of N units (unit i at (i mod s, i div s)).
 * 0, or -1 with lm_err_set() (no checkpoint, not square, bad arrays). */
int lm_run_structure(const char *run_dir, double d_near, double d_far, LmMaskStructure *out);

#endif
