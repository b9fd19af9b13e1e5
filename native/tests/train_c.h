/* train_c.h — the hand-written C of the trainer's element-wise kernels, as they were before the
 * port to Cilk Plus (native/dnn/train.cilk): the reference the translated kernels are held to,
 * bit for bit (tests/cilkpp/train_port_check.c) and in speed (tools/bench_port.py). */
#ifndef DNN_TRAIN_C_H
#define DNN_TRAIN_C_H
#include "dnn.h"

void dnnBiasActivate_c(dnn_net *net, int l);
double dnnLoss_c(dnn_net *net, int64_t *correct);
void dnnActivationGrad_c(dnn_net *net, int l);
void dnnBiasGrad_c(dnn_net *net, int l);
void dnnUpdateLayer_c(dnn_net *net, int l);
#endif
