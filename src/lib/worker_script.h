/* worker_script.h - the Python program each compile worker runs (worker_script.c). */
#ifndef PYC_WORKER_SCRIPT_H
#define PYC_WORKER_SCRIPT_H

extern const char pyc_worker_script[];

#endif
