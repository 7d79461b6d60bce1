/*
 * cluster.h: the active/standby pair over Corosync (cluster.c).  The
 * daemon starts it and stops it; everything else reaches it through the
 * store's hooks (sbc/store.h): the records each local change publishes
 * and the "role" commands of the control socket.
 */
#ifndef SBC_CLUSTER_H
#define SBC_CLUSTER_H

struct sbc;

int  cluster_init(struct sbc *sbc);
void cluster_close(struct sbc *sbc);

#endif
