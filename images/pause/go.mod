module carp-operator/pause

go 1.19
