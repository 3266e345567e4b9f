// Package sim simulates robot arms for tests and for running Praxis without hardware:
// URDF models (sim/models embeds SO-101, UR5 and Panda), forward kinematics, rigid-body
// dynamics (recursive Newton–Euler, composite-rigid-body mass matrix, Cholesky forward
// dynamics), position servos with limits, friction, lag, latency and noise, hard joint
// stops, perturbations and a scripted operator hand. A Sim integrates semi-implicit Euler
// at a fixed step and moves only when stepped; drivers/simarm drives it from a clock.
// See docs/sim.md.
package sim
