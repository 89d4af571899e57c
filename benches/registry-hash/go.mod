module okd-streams/benches/registry-hash

go 1.19
