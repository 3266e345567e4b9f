// Package rosarm drives an arm through its ROS 1 driver with goroslib: it reads
// sensor_msgs/JointState (matched by joint name) and commands positions either as a
// trajectory_msgs/JointTrajectory with one point per command, time_from_start one control
// period (for a JointTrajectoryController's command topic), or as a
// std_msgs/Float64MultiArray (for a position group controller, data in joint order).
//
// Safety: Read fails with drivers.ErrTimeout once any joint's state is older than
// Config.StaleAfter ("no joint state for 200 ms on /joint_states"), and Command refuses
// to send while the state is stale, so the executor never commands from a stale state.
// Commands are clamped into the joint limits. Joint limits come from the config or, for
// joints whose limits the config leaves out, from the URDF in the robot_description
// parameter.
//
// Reconnection: a supervisor checks the master every Config.CheckEvery; when the master
// restarted (it no longer knows this node) the node is rebuilt and re-registers. A robot
// node that restarts is picked up through the master's publisher updates, as in any ROS 1
// node. goroslib ignores ROS_MASTER_URI and ROS_IP: ResolveMaster and ResolveHost read
// them.
//
// Publishing: goroslib's Publisher.Write queues the message pointer and encodes it later
// on its own goroutines, so a written message must not change. Command copies the target
// into a mailbox and returns; a sender goroutine fills the next message of a ring of
// Config.Ring messages (reused only after that many later writes, far beyond the 64
// goroslib queues per subscriber) and writes it. Read and Command allocate nothing.
package rosarm
