"""Credentials the emulator knows. Test values only: they open nothing but the local emulator."""
XDR_STANDARD = {'key_id': '1', 'key': 'EmuStdKey7f3k9QzLm2Vx8Rt4Hy6Nb1Wc5Pd0Sg3Jk7Lq9Mz2Xa4Bv6Cn8Df1Eh3Gj5Ik7'}
XDR_ADVANCED = {'key_id': '2', 'key': 'EmuAdvKey2p8Rw4Ty6Ui0Op3As5Df7Gh9Jk1Lz2Xc4Vb6Nm8Qw0Er3Ty5Ui7Op9As1Df3'}
XDR_NO_LICENSE = {'key_id': '3', 'key': 'EmuNoLicKey5g7Hj9Kl1Zx3Cv5Bn7Mq9Wr2Et4Yu6Io8Pa0Sd2Fg4Hj6Kl8Zx0Cv2Bn4'}
XDR_NO_ROLE = {'key_id': '4', 'key': 'EmuNoRoleKey8m0Qa2Ws4Ed6Rf8Tg0Yh2Uj4Ik6Ol8Pz1Xs3Dc5Fv7Gb9Hn1Jm3Kl5Qa7'}

# key id -> (key, mode, problem status or None)
XDR_KEYS = {
    XDR_STANDARD['key_id']: (XDR_STANDARD['key'], 'standard', None),
    XDR_ADVANCED['key_id']: (XDR_ADVANCED['key'], 'advanced', None),
    XDR_NO_LICENSE['key_id']: (XDR_NO_LICENSE['key'], 'standard', 402),
    XDR_NO_ROLE['key_id']: (XDR_NO_ROLE['key'], 'standard', 403),
}

ALL_SCOPES = ('opticspkgconfig:read', 'opticspkgconfig:list', 'opticspkgconfig:create', 'opticspkgconfig:delete',
              'opticspkgdeploy:create', 'opticspkgdeploy:read', 'opticspkgdeploy:list', 'opticspkgdeploy:delete')
CYLANCE_APP = {'tenant_id': '6d3a1c0e-2b7f-4e59-9a84-3c2d1e0f5a6b', 'app_id': 'b1e2c3d4-5f60-4718-9a2b-3c4d5e6f7081',
               'app_secret': 'EmuCylanceSecret-4c7e1a9b-2d5f-48e3-b6a0-9f1c3e5d7b2a'}
CYLANCE_READ_ONLY_APP = {'tenant_id': CYLANCE_APP['tenant_id'], 'app_id': 'c2f3d4e5-6a71-4829-8b3c-4d5e6f708192',
                         'app_secret': 'EmuCylanceReadOnly-7d1f3b5a-9c2e-4a68-8f0b-1e3d5c7a9b4f'}
# app id -> (secret, tenant id, granted scopes)
CYLANCE_APPS = {
    CYLANCE_APP['app_id']: (CYLANCE_APP['app_secret'], CYLANCE_APP['tenant_id'], ALL_SCOPES),
    CYLANCE_READ_ONLY_APP['app_id']: (CYLANCE_READ_ONLY_APP['app_secret'], CYLANCE_READ_ONLY_APP['tenant_id'],
                                      ('opticspkgconfig:read',)),
}
# a second valid secret per app id, as during a secret rotation (the console shows old and new for a while)
CYLANCE_ROTATED_SECRETS = {
    CYLANCE_APP['app_id']: ('EmuCylanceRotated-8e2d4f6a-1b3c-4d5e-9f70-a1b2c3d4e5f6',),
}
