/* worker_script_internal.h - the Python program each compile worker runs (worker_script.c). */
#ifndef PYC_WORKER_SCRIPT_INTERNAL_H
#define PYC_WORKER_SCRIPT_INTERNAL_H

extern const char pyc_worker_script__text[];

#endif
