/* anomaly.h — finding the first non-finite value of a training step, as
 * torch.autograd's anomaly detection does: which op wrote it, into which
 * of its operands, and what it was. */
#ifndef NETC_RUNTIME_ANOMALY_H
#define NETC_RUNTIME_ANOMALY_H

#include <stddef.h>

#include "net.h" /* rt_anomaly */

/* Whether op i of net's plan left a non-finite value in one of its output
 * operands (ops.def's '>' roles; scratch is the op's own business): 1 with
 * *a filled, else 0.  A batch buffer is checked over net->batch rows. */
int rt_anomaly_op(const rt_net *net, int i, rt_anomaly *a);

/* Whether a tensor a checkpoint holds (the parameters, their values at
 * values, laid out as the parameter arena; then the model state such as
 * BatchNorm's running statistics) has a non-finite value: 1 with *a
 * filled (op -1, param the tensor's index in that order), else 0. */
int rt_anomaly_params(const rt_net *net, const float *values, rt_anomaly *a);

/* Locate the first non-finite value of the training batch in net's input
 * and target buffers, whose forward pass gave a non-finite loss: the
 * parameters first (values laid out as the parameter arena), then the
 * forward and loss ops re-run one at a time from dropout generator state
 * dropout_rng (its state before the pass), the model state not looked at
 * (the pass has updated it from its batch), each op's outputs checked
 * before the next runs.  1 with *a filled, 0 when nothing non-finite
 * turned up.  Overwrites the batch buffers and BatchNorm's running
 * statistics: for a run that stops. */
int rt_anomaly_locate(rt_net *net, uint64_t dropout_rng, rt_anomaly *a);

#endif
