package dev.carpoperator.api.v1alpha1;

/** A vhid's state on one node, numbered as in OpenBSD (INIT 0, BACKUP 1, MASTER 2). */
public enum CarpState {
  INIT,
  BACKUP,
  MASTER
}
