// Package rosnode is Praxis as a ROS 1 node (goroslib), a front end beside the MQTT API:
//
//   - /praxis/<robot>/joint_states (sensor_msgs/JointState) and /praxis/<robot>/events
//     (std_msgs/String, the same JSON as the MQTT events topic);
//   - /praxis/<robot>/run_skill (praxis/RunSkill) and /praxis/<robot>/list_skills
//     (praxis/ListSkills), passed to the daemon through the Core interface, so a ROS
//     run obeys the same one-run-at-a-time, e-stop and authorisation rules as an MQTT one;
//   - the ROS dmp package's services learn_dmp_from_demo, set_active_dmp and
//     get_dmp_plan with its exact definitions (package dmp; md5sums identical), computed
//     with Praxis's own DMP (DMPServer): pure computation, no arm involved.
//
// The message definitions are in ros/dmp and ros/praxis; generate clients from them
// (genpy, gencpp). ROS 1 has no authentication: the front end is off by default
// (Config.Enabled) and belongs on a trusted network only.
package rosnode
