-- Claims read the leased rows back through RETURNING, and shutdown finds its leases among the
-- leased rows (`deliveries_leased`): the lease token's own index was maintained by every claim
-- and every outcome for nothing.
DROP INDEX deliveries_by_lease;
