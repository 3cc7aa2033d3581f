module carp-operator/lab-echo

go 1.19
