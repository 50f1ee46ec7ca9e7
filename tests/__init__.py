"""gymsuite's tests, a folder per package; toy environments shared by them are in :mod:`tests.toy_envs`."""
