-- The cluster shares one database, "orchestrator" (POSTGRES_DB creates it): each host's registry has its own
-- stream (registry-n1, ...) and disk ids are unique fleet-wide, as with cluster-config/local-cluster.sh.
-- Nothing more to create; the tables are created by the first node that starts (auto-initialize).
SELECT 1;
